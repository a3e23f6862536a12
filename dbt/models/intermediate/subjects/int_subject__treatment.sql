{#-
  Per subject: first and last dose of study treatment, cycle-1 completeness, maintenance,
  final-assessment due date.
  Steps:
    1. trtsdt / trtedt: first and last given study-treatment date in EX (any EX record when
       the study drug never appears, so non-myeloma studies still get dates); the last date is
       the end of exposure (int_exposure__doses.exposure_end_date: an open-ended continuing
       record runs to DM.RFENDTC);
    2. cycle-1 doses given (for DLT-evaluability), last combination cycle, first maintenance
       dose;
    3. final_assessment_due_date = end of the last combination cycle (day 1 +
       cycle_length_days - 1) + final_assessment_days.
-#}
with doses as (
    select * from {{ ref('int_exposure__doses') }}
),

cycles as (
    select * from {{ ref('fct_cycles') }}
),

treatment as (
    select
        usubjid,
        min(exstdt) filter (where is_study_treatment and not is_held) as trtsdt,
        max(coalesce(exposure_end_date, exstdt)) filter (where is_study_treatment and not is_held) as trtedt,
        count(*) filter (where is_study_treatment and not is_held) as n_study_doses,
        sum(exdose) filter (where is_study_treatment and not is_held) as cumulative_dose
    from doses
    group by usubjid
),

cycle_summary as (
    select
        usubjid,
        max(doses_given) filter (where cycle = 1) as cycle1_doses_given,
        max(cycle) filter (where phase = 'COMBINATION') as last_combination_cycle,
        max(cycle_end_date) filter (where phase = 'COMBINATION') as last_combination_cycle_end,
        min(cycle_start_date) filter (where phase = 'MAINTENANCE') as maintenance_start_date,
        max(delay_days) filter (where cycle = 2) as cycle2_delay_days,
        bool_or(cycle = 2) as started_cycle2
    from cycles
    group by usubjid
)

select
    t.usubjid,
    t.trtsdt,
    t.trtedt,
    t.n_study_doses,
    t.cumulative_dose,
    coalesce(c.cycle1_doses_given, 0) as cycle1_doses_given,
    c.last_combination_cycle,
    c.maintenance_start_date,
    c.maintenance_start_date is not null as entered_maintenance,
    c.cycle2_delay_days,
    coalesce(c.started_cycle2, false) as started_cycle2,
    c.last_combination_cycle_end + {{ var('final_assessment_days') }} as final_assessment_due_date
from treatment t
left join cycle_summary c using (usubjid)
