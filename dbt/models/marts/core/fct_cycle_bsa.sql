{#-
  fct_cycle_bsa: one row per subject and carfilzomib cycle with its body-surface area
  (Mosteller, from the latest weight on or before day 1) and the carfilzomib dose given in mg
  against the planned mg/m2 x BSA (domain.md 5). Derived in int_exposure__cycle_bsa.
-#}
with cycle_bsa as (
    select * from {{ ref('int_exposure__cycle_bsa') }}
)

select
    usubjid::text as usubjid,
    cycle::integer as cycle,
    phase::text as phase,
    cycle_start_date::date as cycle_start_date,
    weight_kg::numeric as weight_kg,
    weight_date::date as weight_date,
    height_cm::numeric as height_cm,
    bsa_m2::double precision as bsa_m2,
    dose_level_mg_m2::numeric as dose_level_mg_m2,
    planned_dose_mg::double precision as planned_dose_mg,
    doses_given::integer as doses_given,
    dose_given_mg::double precision as dose_given_mg,
    dose_difference_pct::double precision as dose_difference_pct,
    is_dose_off_bsa::boolean as is_dose_off_bsa
from cycle_bsa
