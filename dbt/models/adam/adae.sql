{#-
  ADAE (OCCDS): one row per adverse event of fct_adverse_events, with ADSL's treatment dates.
  Steps:
    0. AESEQ: AE.AESEQ when the feed sends it; else the record's sequence in the subject's AE
       records (by AESTDTC, AESPID, record key), as SDTM numbers them, so every record keeps a
       key back to SDTM (with AESPID); TRTA/TRTAN = ADSL.TRT01A/TRT01AN; AGE, AGEGR1(N), SEX,
       RACE(N) from ADSL; AESEV = AE.AESEV;
       ATOXGR = AE.AETOXGR only (null when the feed sent no grade: a severity is not a grade);
    1. ASTDT/AENDT: the staged AE dates (partial start imputed to the first day of the
       month/year, partial end to the last day: stg_sdtm__ae); ASTDTF 'D' when the day was
       imputed, 'M' when month and day were;
    2. ASTDY/AENDY: CDISC study day from ADSL.TRTSDT (no day 0, macro adam_study_day);
       ADURN = AENDT - ASTDT + 1 days (ADURU 'DAY');
    3. TRTEMFL: fct_adverse_events.is_teae (domain.md 5: onset on or after the first study dose
       and no later than teae_days_after_last_dose after the last dose);
    4. first-occurrence flags over the treatment-emergent AEs (by ASTDT, AESEQ, AESPID): AOCCFL
       the subject's first, AOCCSFL the first in each body system (AEBODSYS), AOCCPFL the
       first of each preferred term (AEBODSYS, AEDECOD);
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
        trt01a,
        trt01an,
        age,
        agegr1,
        agegr1n,
        sex,
        race,
        racen,
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
        s.trt01a,
        s.trt01an,
        s.age,
        s.agegr1,
        s.agegr1n,
        s.sex,
        s.race,
        s.racen,
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

sequenced as (
    select
        d.*,
        coalesce(
            d.aeseq,
            row_number() over (partition by d.usubjid order by d.aestdtc, d.aespid, d.ae_record_key)
        ) as aeseq_traced
    from dated as d
),

occurrence as (
    select
        q.*,
        case when q.is_teae then row_number() over (
                    partition by q.usubjid, q.is_teae order by q.aestdt, q.aeseq_traced, q.aespid
                )
        end as teae_order,
        case when q.is_teae then row_number() over (
                    partition by q.usubjid, q.is_teae, q.aebodsys order by q.aestdt, q.aeseq_traced, q.aespid
                )
        end as teae_soc_order,
        case when q.is_teae then row_number() over (
                    partition by q.usubjid, q.is_teae, q.aebodsys, q.aedecod
                    order by q.aestdt, q.aeseq_traced, q.aespid
                )
        end as teae_pt_order
    from sequenced as q
)

select
    studyid::text as studyid,
    siteid::text as siteid,
    usubjid::text as usubjid,
    trt01a::text as trta,
    trt01an::numeric as trtan,
    age::numeric as age,
    agegr1::text as agegr1,
    agegr1n::numeric as agegr1n,
    sex::text as sex,
    race::text as race,
    racen::numeric as racen,
    aeseq_traced::integer as aeseq,
    aespid::text as aespid,
    aeterm::text as aeterm,
    aedecod::text as aedecod,
    aebodsys::text as aebodsys,
    aesev::text as aesev,
    (case when grade_source = 'AETOXGR' then aetoxgr end)::integer as atoxgr,
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
    {{ adam_flag('teae_soc_order = 1') }}::text as aoccsfl,
    {{ adam_flag('teae_pt_order = 1') }}::text as aoccpfl,
    {{ adam_flag('is_related') }}::text as arelfl,
    {{ adam_flag('is_dlt') }}::text as dltfl,
    dlt_rule::text as dltrule
from occurrence
