{#-
  ADVS (BDS): one row per vital-sign record of fct_vital_signs, plus one BSA record per
  carfilzomib cycle of fct_cycle_bsa (domain.md 5 "Vital signs and body weight").
  Steps:
    1. vital signs: PARAMCD = VSTESTCD (WEIGHT, HEIGHT, SYSBP, ...), PARAM = the test's name
       and standard unit; AVAL/BASE/CHG/PCHG as fct_vital_signs derives them (baseline =
       last value on or before the first study dose, per position and timepoint); ABLFL on
       the baseline record; ATPT = VSTPT, else VSPOS; AVISIT = VISIT;
    2. BSA (PARAMCD BSA, m2, Mosteller): one record per cycle with a BSA, dated on the
       cycle's day 1 (AVISIT 'CnD1', the EX visit convention); the baseline is cycle 1's
       BSA (from the last weight on or before the first dose), CHG on later cycles;
    3. ADT, ADY = CDISC study day from ADSL.TRTSDT (no day 0); TRTA/TRTAN/SAFFL from ADSL;
    4. AVISITN = the rank of AVISIT by the median study day of its records (then its name);
       ASEQ = the record's sequence in the subject (by PARAMCD, ADT, ATPT, SRCKEY).
-#}
with vital_signs as (
    select * from {{ ref('fct_vital_signs') }}
),

cycle_bsa as (
    select * from {{ ref('fct_cycle_bsa') }}
    where bsa_m2 is not null
),

adsl as (
    select
        studyid,
        usubjid,
        trtsdt,
        trt01a,
        trt01an,
        saffl
    from {{ ref('adsl') }}
),

vs_records as (
    select
        usubjid,
        vstestcd as paramcd,
        case vstestcd
            when 'WEIGHT' then 'Weight'
            when 'HEIGHT' then 'Height'
            when 'SYSBP' then 'Systolic Blood Pressure'
            when 'DIABP' then 'Diastolic Blood Pressure'
            when 'PULSE' then 'Pulse Rate'
            when 'TEMP' then 'Temperature'
            when 'RESP' then 'Respiratory Rate'
            else vstestcd
        end || coalesce(' (' || avalu || ')', '') as param,
        vsdt as adt,
        visit as avisit,
        coalesce(vstpt, vspos) as atpt,
        aval,
        avalu,
        base,
        {{ adam_flag('is_baseline') }} as ablfl,
        chg,
        pchg,
        'VS' as srcdom,
        vs_record_key as srckey
    from vital_signs
),

bsa_baseline as (
    select
        usubjid,
        bsa_m2 as base
    from cycle_bsa
    where cycle = 1
),

bsa_records as (
    select
        c.usubjid,
        'BSA' as paramcd,
        'Body Surface Area, Mosteller (m2)' as param,
        c.cycle_start_date as adt,
        'C' || c.cycle || 'D1' as avisit,
        null::text as atpt,
        c.bsa_m2::numeric as aval,
        'm2' as avalu,
        b.base::numeric as base,
        {{ adam_flag('c.cycle = 1') }} as ablfl,
        case when c.cycle > 1 then (c.bsa_m2 - b.base)::numeric end as chg,
        case when c.cycle > 1 then (100 * (c.bsa_m2 - b.base) / nullif(b.base, 0))::numeric end as pchg,
        'EX' as srcdom,
        c.usubjid || '|C' || c.cycle as srckey
    from cycle_bsa as c
    left join bsa_baseline as b on c.usubjid = b.usubjid
),

records as (
    select * from vs_records
    union all
    select * from bsa_records
),

with_subject as (
    select
        r.*,
        s.studyid,
        s.trtsdt,
        s.trt01a as trta,
        s.trt01an as trtan,
        s.saffl,
        {{ adam_study_day('r.adt', 's.trtsdt') }} as ady
    from records as r
    inner join adsl as s on r.usubjid = s.usubjid
),

visit_order as (
    {{ ranks_by_median_day('with_subject', 'avisit', 'ady', rank_column='avisitn', keep_null=true) }}
),

sequenced as (
    select
        w.*,
        v.avisitn,
        row_number() over (
            partition by w.usubjid order by w.paramcd, w.adt, w.atpt nulls first, w.srckey
        ) as aseq
    from with_subject as w
    left join visit_order as v on w.avisit = v.avisit
)

select
    studyid::text as studyid,
    usubjid::text as usubjid,
    aseq::integer as aseq,
    paramcd::text as paramcd,
    param::text as param,
    adt::date as adt,
    ady::integer as ady,
    avisit::text as avisit,
    avisitn::numeric as avisitn,
    atpt::text as atpt,
    aval::numeric as aval,
    avalu::text as avalu,
    base::numeric as base,
    ablfl::text as ablfl,
    chg::numeric as chg,
    pchg::numeric as pchg,
    trta::text as trta,
    trtan::numeric as trtan,
    saffl::text as saffl,
    srcdom::text as srcdom,
    srckey::text as srckey
from sequenced
