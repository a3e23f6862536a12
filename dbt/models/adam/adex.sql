{#-
  ADEX: exposure records and per-cycle / per-subject dosing parameters (domain.md 3).
  One derivation, two shapes: every value is a column of the marts fct_exposure_records,
  fct_cycles or dim_subject (ADaM reads marts only).
  Steps:
    1. PARAMCD DOSE: one row per usable EX record (any drug), AVAL = EXDOSE in EXDOSU, with
       its cycle and phase when it is a study-drug dose; HELDFL when the dose was held;
       PARAMCD RECDOSE beside it: the dose the record delivered, EXDOSE x administrations
       (fct_exposure_records.record_dose: a QD record over EXSTDTC..EXENDTC counts every day);
    2. per study-drug cycle (fct_cycles): DOSELVL (cycle dose level), PLANDOSE / CYCDOSE
       (planned and delivered mg/m2), CUMDOSE (delivered mg/m2 up to and including the
       cycle), RDI (relative dose intensity), NDOSGIV / NDOSHLD / NDOSRED (doses given, held,
       reduced), DELAY (day-1 delay, days);
    3. per subject: TOTDOSE = sum of RECDOSE over the study-treatment records given
       (dim_subject.cumulative_dose; ADSL.CUMDOSE).
  Incremental by subject (macros/subject_scope.sql): an incremental build derives again the
  subjects of build_rederive_subjects only (every input below is read for them).
-#}
{{ subject_incremental_config() }}
with doses as (
    select * from {{ ref('fct_exposure_records') }}
    where {{ in_rederive_scope() }}
),

cycles as (
    select
        c.*,
        sum(c.delivered_mg_m2) over (partition by c.usubjid order by c.cycle) as cumulative_mg_m2
    from {{ ref('fct_cycles') }} as c
    where {{ in_rederive_scope('c.usubjid') }}
),

adsl as (
    select
        studyid,
        usubjid,
        trtsdt
    from {{ ref('adsl') }}
    where {{ in_rederive_scope() }}
),

subjects as (
    select
        usubjid,
        cumulative_dose
    from {{ ref('dim_subject') }}
    where {{ in_rederive_scope() }}
),

dose_records as (
    select
        d.usubjid,
        p.paramcd,
        p.param,
        'DOSE RECORD' as parcat1,
        d.drug as extrt,
        p.aval,
        d.exdosu as avalu,
        d.exstdt as astdt,
        coalesce(d.exposure_end_date, d.exstdt) as aendt,
        d.cycle as acycle,
        coalesce(d.phase, d.epoch) as aphase,
        d.visit as avisit,
        d.is_held as held,
        'EX' as srcdom,
        d.ex_record_key as srckey
    from doses as d
    cross join lateral (
        values
        ('DOSE', 'Dose administered', d.exdose),
        ('RECDOSE', 'Dose delivered by the record (dose x administrations)', d.record_dose)
    ) as p (paramcd, param, aval)
),

cycle_params as (
    select
        c.usubjid,
        p.paramcd,
        p.param,
        'CYCLE' as parcat1,
        '{{ var("study_drug") }}' as extrt,
        p.aval,
        p.avalu,
        c.cycle_start_date as astdt,
        c.cycle_end_date as aendt,
        c.cycle as acycle,
        c.phase as aphase,
        'C' || c.cycle as avisit,
        null::boolean as held,
        'ADEX' as srcdom,
        c.cycle::text as srckey
    from cycles as c
    cross join lateral (
        values
        ('DOSELVL', 'Cycle dose level (mg/m2)', c.dose_level, 'mg/m2'),
        ('PLANDOSE', 'Planned dose in cycle (mg/m2)', c.planned_mg_m2, 'mg/m2'),
        ('CYCDOSE', 'Delivered dose in cycle (mg/m2)', c.delivered_mg_m2, 'mg/m2'),
        ('CUMDOSE', 'Cumulative delivered dose (mg/m2)', c.cumulative_mg_m2, 'mg/m2'),
        ('RDI', 'Relative dose intensity', c.relative_dose_intensity, 'ratio'),
        ('NDOSGIV', 'Number of doses given in cycle', c.doses_given::numeric, 'doses'),
        ('NDOSHLD', 'Number of doses held in cycle', c.doses_held::numeric, 'doses'),
        ('NDOSRED', 'Number of doses reduced in cycle', c.doses_reduced::numeric, 'doses'),
        ('DELAY', 'Cycle day-1 delay (days)', c.delay_days::numeric, 'days')
    ) as p (paramcd, param, aval, avalu)
),

subject_params as (
    select
        s.usubjid,
        'TOTDOSE' as paramcd,
        'Total dose: sum of RECDOSE over the study-treatment records given' as param,
        'SUBJECT' as parcat1,
        null::text as extrt,
        s.cumulative_dose as aval,
        null::text as avalu,
        null::date as astdt,
        null::date as aendt,
        null::integer as acycle,
        null::text as aphase,
        null::text as avisit,
        null::boolean as held,
        'ADSL' as srcdom,
        'SUBJECT' as srckey
    from subjects as s
    where s.cumulative_dose is not null
),

unioned as (
    select * from dose_records
    union all
    select * from cycle_params
    union all
    select * from subject_params
)

select
    s.studyid::text as studyid,
    u.usubjid::text as usubjid,
    u.paramcd::text as paramcd,
    u.param::text as param,
    u.parcat1::text as parcat1,
    u.extrt::text as extrt,
    u.aval::numeric as aval,
    u.avalu::text as avalu,
    u.astdt::date as astdt,
    {{ adam_study_day('u.astdt', 's.trtsdt') }}::integer as astdy,
    u.aendt::date as aendt,
    u.acycle::integer as acycle,
    u.aphase::text as aphase,
    u.avisit::text as avisit,
    {{ adam_flag('u.held') }}::text as heldfl,
    u.srcdom::text as srcdom,
    u.srckey::text as srckey
from unioned as u
left join adsl as s using (usubjid)
