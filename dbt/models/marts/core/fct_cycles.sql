{#-
  fct_cycles: one row per subject and study-drug cycle (domain.md 3): day 1, dose level,
  planned/delivered dose and RDI, held and reduced doses, delay, partner drugs. The rules are
  derived in int_exposure__cycles (see its steps); this mart publishes them.
-#}
with cycles as (
    select * from {{ ref('int_exposure__cycles') }}
)

select
    usubjid,
    cycle,
    phase,
    cycle_start_date,
    cycle_end_date,
    dose_level,
    doses_planned,
    doses_given,
    doses_held,
    doses_reduced,
    delivered_mg_m2,
    planned_mg_m2,
    relative_dose_intensity,
    delay_days,
    partner_drugs_given
from cycles
