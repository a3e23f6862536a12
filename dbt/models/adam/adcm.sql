{#-
  ADCM (OCCDS): one row per CM record of fct_concomitant_medications, with ADSL's treatment
  (domain.md 5 "Concomitant medications").
  Steps:
    1. CMSEQ: CM.CMSEQ when the feed sends it; else the record's sequence in the subject's CM
       records (by CMSTDTC, CMTRT, record key);
    2. CMDECOD/CMCLAS: the drug_synonyms seed's drug and class, else CM.CMDECOD/CMCLAS;
    3. ASTDT/AENDT: the staged CM dates (partial start imputed to the first day, partial end
       to the last day); ASTDY/AENDY: CDISC study days from ADSL.TRTSDT (no day 0);
    4. PREFL ('Y' or null): started before the first study dose or start unknown;
       ONTRTFL: on-study use (fct_concomitant_medications.is_on_study); NEWTRTFL: new
       anti-myeloma therapy (is_new_anti_myeloma_therapy); PRMYTFL: prior myeloma therapy.
-#}
with medications as (
    select * from {{ ref('fct_concomitant_medications') }}
),

adsl as (
    select
        studyid,
        usubjid,
        trt01a,
        trt01an,
        trtsdt,
        saffl
    from {{ ref('adsl') }}
),

numbered as (
    select
        s.studyid,
        m.usubjid,
        coalesce(
            m.cmseq,
            row_number() over (
                partition by m.usubjid order by m.cmstdtc nulls first, m.cmtrt, m.cm_record_key
            )
        ) as cmseq,
        m.cmtrt,
        m.cmdecod,
        m.cmclas,
        m.cmcat,
        m.cmdose,
        m.cmdosu,
        m.cmstdtc,
        m.cmendtc,
        m.cmstdt as astdt,
        m.cmendt as aendt,
        {{ adam_study_day('m.cmstdt', 's.trtsdt') }} as astdy,
        {{ adam_study_day('m.cmendt', 's.trtsdt') }} as aendy,
        s.trt01a as trta,
        s.trt01an as trtan,
        s.saffl,
        {{ adam_flag('s.trtsdt is not null and coalesce(m.cmstdt < s.trtsdt, true)') }} as prefl,
        {{ adam_flag('m.is_on_study') }} as ontrtfl,
        {{ adam_flag('m.is_new_anti_myeloma_therapy') }} as newtrtfl,
        {{ adam_flag('m.is_prior_myeloma_therapy') }} as prmytfl
    from medications as m
    inner join adsl as s on m.usubjid = s.usubjid
)

select
    studyid::text as studyid,
    usubjid::text as usubjid,
    cmseq::numeric as cmseq,
    cmtrt::text as cmtrt,
    cmdecod::text as cmdecod,
    cmclas::text as cmclas,
    cmcat::text as cmcat,
    cmdose::numeric as cmdose,
    cmdosu::text as cmdosu,
    cmstdtc::text as cmstdtc,
    cmendtc::text as cmendtc,
    astdt::date as astdt,
    aendt::date as aendt,
    astdy::integer as astdy,
    aendy::integer as aendy,
    trta::text as trta,
    trtan::numeric as trtan,
    saffl::text as saffl,
    prefl::text as prefl,
    ontrtfl::text as ontrtfl,
    newtrtfl::text as newtrtfl,
    prmytfl::text as prmytfl
from numbered
