{#-
  fct_disposition: one row per subject with end of treatment and end of study, each with its
  status and reason (domain.md 5 "Disposition"): CONSORT's "discontinued, by reason" and
  "ongoing", and ADSL EOTSTT/DCTREAS/EOSSTT/DCSREAS. Derived in int_safety__disposition.
-#}
with disposition as (
    select * from {{ ref('int_safety__disposition') }}
)

select
    usubjid,
    is_treated,
    eotstt,
    dctreas,
    eotdt,
    eot_source,
    eosstt,
    dcsreas,
    eosdt
from disposition
