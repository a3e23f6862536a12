{#-
  fct_performance_status: one row per treated subject with ECOG at baseline, the worst after
  the first dose and the shift between them (domain.md 5; the report's shift table, ADSL
  ECOGBL). Derived in int_subject__performance_status.
-#}
with performance_status as (
    select * from {{ ref('int_subject__performance_status') }}
)

select
    usubjid,
    ecog_baseline,
    ecog_baseline_date,
    ecog_worst_post,
    n_post_assessments,
    ecog_shift
from performance_status
