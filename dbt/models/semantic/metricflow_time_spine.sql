{#-
  metricflow_time_spine: one row per calendar day, the time spine MetricFlow joins metrics to
  (dbt semantic layer; models/semantic/_semantic__models.yml).
  Steps:
    1. every day from var semantic_time_spine_start to var semantic_time_spine_end (a range
       that holds every date of the trial: screening, dosing, assessments, follow-up).
-#}
with

days as (
    select day_series::date as date_day
    from generate_series(
        date '{{ var("semantic_time_spine_start") }}',
        date '{{ var("semantic_time_spine_end") }}',
        interval '1 day'
    ) as day_series
)

select date_day
from days
