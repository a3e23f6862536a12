{#-
  Per subject: first and last dose of study treatment, cycle-1 completeness, maintenance,
  final-assessment due date.
  Steps:
    1. trtsdt / trtedt (ADaM TRTSDT/TRTEDT): first and last date a dose of any study drug
       (carfilzomib or a partner) was actually given (int_exposure__doses.is_dose_given: not
       held, EXDOSE > 0); a carfilzomib dose held on C1D1 does not move them (domain.md 2).
       n_study_doses / cumulative_dose count carfilzomib only; cumulative_dose sums each
       record's dose x administrations (int_exposure__doses.record_dose: a QD record over 14
       days counts 14 doses);
    2. cycle-1 doses given (for DLT-evaluability), last combination cycle; maintenance
       starts on the first maintenance dose given (domain.md 4: maintenance PFS runs "from
       the first maintenance dose"; a maintenance cycle whose doses were all held, or a death
       before the first one, is no maintenance);
    3. final_assessment_due_date = end of the last combination cycle (day 1 +
       cycle_length_days - 1) + final_assessment_days.
-#}
with doses as (
    select * from {{ ref('int_exposure__doses') }}
),

cycles as (
    select * from {{ ref('int_exposure__cycles') }}
),

treatment as (
    select
        usubjid,
        min(exstdt) filter (where is_dose_given) as trtsdt,
        max(coalesce(exposure_end_date, exstdt)) filter (where is_dose_given) as trtedt,
        min(exstdt) filter (where is_study_treatment and not is_held) as first_study_drug_date,
        count(*) filter (where is_study_treatment and not is_held) as n_study_doses,
        sum(record_dose) filter (where is_study_treatment and not is_held) as cumulative_dose
    from doses
    group by usubjid
),

maintenance as (
    select
        usubjid,
        min(exstdt) as maintenance_start_date
    from {{ ref('int_exposure__study_drug_cycles') }}
    where phase = 'MAINTENANCE' and is_given
    group by usubjid
),

cycle_summary as (
    select
        usubjid,
        max(doses_given) filter (where cycle = 1) as cycle1_doses_given,
        max(cycle) filter (where phase = 'COMBINATION') as last_combination_cycle,
        max(cycle_end_date) filter (where phase = 'COMBINATION') as last_combination_cycle_end,
        max(delay_days) filter (where cycle = 2) as cycle2_delay_days,
        bool_or(cycle = 2) as started_cycle2
    from cycles
    group by usubjid
)

select
    t.usubjid,
    t.trtsdt,
    t.trtedt,
    t.first_study_drug_date,
    t.n_study_doses,
    t.cumulative_dose,
    coalesce(c.cycle1_doses_given, 0) as cycle1_doses_given,
    c.last_combination_cycle,
    m.maintenance_start_date,
    m.maintenance_start_date is not null as entered_maintenance,
    c.cycle2_delay_days,
    coalesce(c.started_cycle2, false) as started_cycle2,
    c.last_combination_cycle_end + {{ var('final_assessment_days') }} as final_assessment_due_date
from treatment as t
left join cycle_summary as c using (usubjid)
left join maintenance as m using (usubjid)
