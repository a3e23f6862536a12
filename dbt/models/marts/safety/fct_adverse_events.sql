{#-
  fct_adverse_events: one row per AE (staged record: USUBJID, AESPID and the qualifiers that tell
  repeated AESPIDs apart, e.g. AESEQ; ae_record_key) with TEAE, DLT-window and DLT flags
  (domain.md 5). The rules are derived in int_safety__adverse_events (see its steps); this
  mart publishes them.
-#}
with adverse_events as (
    select * from {{ ref('int_safety__adverse_events') }}
)

select
    usubjid,
    aespid,
    aeseq,
    aeterm,
    aedecod,
    aebodsys,
    aestdtc,
    aestdt,
    aeendtc,
    aeendt,
    aestdy,
    duration_days,
    is_ongoing,
    aetoxgr,
    grade_source,
    aesev,
    is_serious,
    aerel,
    is_related,
    aeacn,
    aeout,
    is_teae,
    trtemfl,
    in_dlt_window,
    is_dlt,
    dlt_rule,
    investigator_dlt,
    dlt_agrees_with_investigator,
    ae_record_key
from adverse_events
