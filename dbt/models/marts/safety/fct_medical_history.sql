{#-
  fct_medical_history: one row per usable medical-history record with its baseline and
  ongoing-at-baseline flags (domain.md 5 "Medical history"; ADMH). Derived in
  int_safety__medical_history.
-#}
with history as (
    select * from {{ ref('int_safety__medical_history') }}
)

select
    mh_record_key,
    usubjid,
    mhseq,
    mhterm,
    mhdecod,
    mhbodsys,
    mhcat,
    mhstdtc,
    mhstdt,
    mhendtc,
    mhendt,
    mhenrtpt,
    is_baseline,
    is_ongoing_at_baseline
from history
