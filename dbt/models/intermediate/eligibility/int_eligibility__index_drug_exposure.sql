{#-
  E2 evidence: the tightest run of e2_min_doses qualifying index-drug doses in the index
  regimen.
  Steps:
    1. qualifying doses: index-drug CM records of the index regimen with CMDOSE >=
       e2_min_dose_mg_m2 (each record is one administration; lower doses do not count);
    2. order them by date; for each dose, the date of the dose e2_min_doses - 1 places later;
    3. a qualifying cycle exists when that span is <= e2_max_span_days (27 days: a 28-day
       window); report the shortest span and where it starts.
  Partial dates (domain.md 2): a month-only or year-only dose date is an interval
  [earliest, latest] day (first/last day of that month or year). Doses are ordered by their
  earliest day; for each run of e2_min_doses consecutive qualifying doses:
    - shortest_span_days: the span for sure (latest day of any dose in the run minus the
      earliest day of the first), so "<= 27" holds whatever the missing days are;
    - possible_shortest_span_days: the smallest span any choice of the missing days allows
      (latest earliest-day in the run minus the earliest latest-day).
  With full dates both equal the span of step 3. fct_eligibility: met when the sure span is
  <= 27, not met when even the possible span is > 27 (or fewer than e2_min_doses), else
  not evaluable because the outcome depends on the missing day.
-#}
with idx as (
    select
        usubjid,
        regimen_id
    from {{ ref('int_eligibility__index_regimen') }}
),

cm as (
    select
        cm.*,
        coalesce(cm.cmgrpid, '(no CMGRPID) ' || cm.cmtrt) as regimen_id
    from {{ ref('stg_sdtm__cm') }} as cm
    where cm.is_usable and cm.is_prior_myeloma_therapy and cm.drug = '{{ var("index_drug") }}'
),

doses as (
    select
        cm.usubjid,
        cm.cmstdt,
        case when cm.cmstdt_imputed then {{ iso_date('cm.cmstdtc', impute='last') }} else cm.cmstdt end as cmstdt_latest,
        coalesce(cm.cmstdt_imputed, false) as is_partial,
        cm.cmdose
    from cm
    inner join idx using (usubjid, regimen_id)
),

qualifying as (
    select
        usubjid,
        cmstdt,
        lead(cmstdt, {{ var('e2_min_doses') }} - 1) over w as nth_dose_date,
        max(cmstdt_latest) over w_run as run_latest,
        min(cmstdt_latest) over w_run as run_min_latest,
        count(*) over w_run as run_size
    from doses
    where cmdose >= {{ var('e2_min_dose_mg_m2') }}
    window
        w as (partition by usubjid order by cmstdt, cmstdt_latest),
        w_run as (
            partition by usubjid order by cmstdt, cmstdt_latest
            rows between current row and {{ var('e2_min_doses') - 1 }} following
        )
),

spans as (
    select
        usubjid,
        cmstdt,
        nth_dose_date,
        run_latest - cmstdt as span_days,
        greatest(nth_dose_date - run_min_latest, 0) as possible_span_days
    from qualifying
    where run_size = {{ var('e2_min_doses') }}
),

shortest as (
    -- set-based (one sort), not a correlated subquery per subject (quadratic on large trials)
    select distinct on (usubjid)
        usubjid,
        span_days as shortest_span_days,
        cmstdt as shortest_span_start
    from spans
    where span_days is not null
    order by usubjid, span_days, cmstdt
),

possible as (
    select
        usubjid,
        min(possible_span_days) as possible_shortest_span_days
    from spans
    group by usubjid
),

counts as (
    select
        d.usubjid,
        count(*) as n_index_drug_doses,
        count(*) filter (where d.cmdose >= {{ var('e2_min_dose_mg_m2') }}) as n_qualifying_doses,
        count(*) filter (where d.cmdose is null) as n_doses_without_amount,
        count(*) filter (where d.is_partial) as n_partial_dates
    from doses as d
    group by d.usubjid
)

select
    c.usubjid,
    c.n_index_drug_doses,
    c.n_qualifying_doses,
    c.n_doses_without_amount,
    s.shortest_span_days,
    s.shortest_span_start,
    p.possible_shortest_span_days,
    c.n_partial_dates
from counts as c
left join shortest as s using (usubjid)
left join possible as p using (usubjid)
