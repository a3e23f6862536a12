{#-
  ADMH (OCCDS): one row per medical-history record of fct_medical_history, with ADSL's
  treatment dates (domain.md 5 "Medical history").
  Steps:
    1. MHSEQ: MH.MHSEQ when the feed sends it; else the record's sequence in the subject's
       MH records (by MHSTDTC, MHTERM, record key);
    2. ASTDT/AENDT: the staged MH dates (partial start imputed to the first day, partial end
       to the last day: stg_sdtm__mh); ASTDY: CDISC study day from ADSL.TRTSDT (no day 0);
    3. PREFL ('Y' or null): a baseline condition, before the first study dose or with an
       unknown start (fct_medical_history.is_baseline); ONGBLFL: ongoing at baseline (no end
       date, or MHENRTPT ONGOING).
-#}
with history as (
    select * from {{ ref('fct_medical_history') }}
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
        h.usubjid,
        coalesce(
            h.mhseq,
            row_number() over (
                partition by h.usubjid order by h.mhstdtc nulls first, h.mhterm, h.mh_record_key
            )
        ) as mhseq,
        h.mhterm,
        h.mhdecod,
        h.mhbodsys,
        h.mhcat,
        h.mhstdtc,
        h.mhendtc,
        h.mhenrtpt,
        h.mhstdt as astdt,
        h.mhendt as aendt,
        {{ adam_study_day('h.mhstdt', 's.trtsdt') }} as astdy,
        s.trt01a as trta,
        s.trt01an as trtan,
        s.saffl,
        {{ adam_flag('h.is_baseline') }} as prefl,
        {{ adam_flag('h.is_ongoing_at_baseline') }} as ongblfl
    from history as h
    inner join adsl as s on h.usubjid = s.usubjid
)

select
    studyid::text as studyid,
    usubjid::text as usubjid,
    mhseq::numeric as mhseq,
    mhterm::text as mhterm,
    mhdecod::text as mhdecod,
    mhbodsys::text as mhbodsys,
    mhcat::text as mhcat,
    mhstdtc::text as mhstdtc,
    mhendtc::text as mhendtc,
    mhenrtpt::text as mhenrtpt,
    astdt::date as astdt,
    aendt::date as aendt,
    astdy::integer as astdy,
    trta::text as trta,
    trtan::numeric as trtan,
    saffl::text as saffl,
    prefl::text as prefl,
    ongblfl::text as ongblfl
from numbered
