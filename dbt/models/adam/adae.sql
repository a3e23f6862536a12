{#-
  ADAE (OCCDS): one row per adverse event of fct_adverse_events, with ADSL's treatment dates.
  Steps:
    1. ASTDT/AENDT: the staged AE dates (partial start imputed to the first day of the
       month/year, partial end to the last day: stg_sdtm__ae); ASTDTF 'D' when the day was
       imputed, 'M' when month and day were;
    2. ASTDY/AENDY: CDISC study day from ADSL.TRTSDT (no day 0, macro adam_study_day);
       ADURN = AENDT - ASTDT + 1 days (ADURU 'DAY');
    3. TRTEMFL: fct_adverse_events.is_teae (domain.md 5: onset on or after the first study dose
       and no later than teae_days_after_last_dose after the last dose);
    4. AOCCFL: the first treatment-emergent AE of the subject (by ASTDT, AESEQ, AESPID);
    5. DLTFL: fct_adverse_events.is_dlt (the configurable DLT rules), with the rule in DLTRULE.
-#}
with ae as (
    select * from {{ ref('fct_adverse_events') }}
),

adsl as (
    select
        studyid,
        usubjid,
        siteid,
        trtsdt,
        trtedt,
        saffl
    from {{ ref('adsl') }}
),

dated as (
    select
        a.*,
        s.studyid,
        s.siteid,
        s.trtsdt,
        s.trtedt,
        s.saffl,
        case when a.aestdtc ~ '^\d{4}-\d{2}-\d{2}' then null
            when a.aestdtc ~ '^\d{4}-\d{2}' then 'D'
            when a.aestdtc ~ '^\d{4}' then 'M'
        end as astdtf
    from ae as a
    left join adsl as s using (usubjid)
),

occurrence as (
    select
        d.*,
        case when d.is_teae then row_number() over (
                    partition by d.usubjid, d.is_teae order by d.aestdt, d.aeseq, d.aespid
                )
        end as teae_order
    from dated as d
)

select
    studyid::text as studyid,
    siteid::text as siteid,
    usubjid::text as usubjid,
    aeseq::integer as aeseq,
    aespid::text as aespid,
    aeterm::text as aeterm,
    aedecod::text as aedecod,
    aebodsys::text as aebodsys,
    aetoxgr::integer as atoxgr,
    grade_source::text as atoxgrsc,
    case when is_serious then 'Y' when not is_serious then 'N' end::text as aeser,
    aerel::text as aerel,
    aeacn::text as aeacn,
    aeout::text as aeout,
    trtsdt::date as trtsdt,
    trtedt::date as trtedt,
    saffl::text as saffl,
    aestdt::date as astdt,
    astdtf::text as astdtf,
    {{ adam_study_day('aestdt', 'trtsdt') }}::integer as astdy,
    aeendt::date as aendt,
    {{ adam_study_day('aeendt', 'trtsdt') }}::integer as aendy,
    (aeendt - aestdt + 1)::integer as adurn,
    case when aeendt is not null and aestdt is not null then 'DAY' end::text as aduru,
    {{ adam_flag('is_teae') }}::text as trtemfl,
    {{ adam_flag('teae_order = 1') }}::text as aoccfl,
    {{ adam_flag('is_related') }}::text as arelfl,
    {{ adam_flag('is_dlt') }}::text as dltfl,
    dlt_rule::text as dltrule
from occurrence
