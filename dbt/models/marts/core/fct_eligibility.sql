{#-
  fct_eligibility: one row per subject and criterion E1-E7 (domain.md 2), evaluated as of the
  first study dose, status met / not_met / not_evaluable with its evidence. The rules
  (partial dates, vacuous E4) are derived in int_eligibility__criteria; this mart publishes them.
-#}
with criteria as (
    select * from {{ ref('int_eligibility__criteria') }}
)

select
    usubjid,
    criterion_id,
    criterion,
    status,
    evidence,
    index_regimen_id,
    evidence_date_from,
    evidence_date_to,
    evidence_days,
    evidence_count,
    evidence_value,
    evidence_drugs
from criteria
