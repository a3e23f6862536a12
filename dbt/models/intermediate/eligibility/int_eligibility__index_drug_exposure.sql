{#-
  E2 evidence: the tightest run of e2_min_doses qualifying index-drug doses in the index
  regimen, judged on every possible day of its partial dates (domain.md 2).
  Steps:
    1. qualifying doses: index-drug CM records of the index regimen with CMDOSE >=
       e2_min_dose_mg_m2 (each record is one administration; lower doses do not count). A
       month-only or year-only date is an interval [earliest, latest] day;
    2. scenarios: every combination of the possible days of the subject's partial qualifying
       doses (one scenario when all dates are full), as long as there are at most
       e2_max_partial_scenarios of them;
    3. per scenario, order the doses by day; for each dose, the day of the dose
       e2_min_doses - 1 places later; the scenario's span is the shortest such distance
       (a qualifying cycle exists in it when the span is <= e2_max_span_days, 27 days);
    4. per subject: shortest_span_days is the worst scenario's span (the span for sure:
       "<= 27" holds whatever the missing days are), possible_shortest_span_days the best
       scenario's span. With full dates both equal the span of step 3.
  More scenarios than the bound: only the full-dated doses are placed. More doses never
  lengthen the shortest span, so their span is still a sure one, and nothing can be ruled
  out (possible span 0): E2 is met or not evaluable.
  fct_eligibility: met when the sure span is <= 27, not met when even the possible span is
  > 27 (or fewer than e2_min_doses), else not evaluable because the outcome depends on the
  missing day.
-#}
with recursive idx as (
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
        cmstdt_latest,
        cmstdt_latest > cmstdt as is_partial,
        row_number() over (
            partition by usubjid, (cmstdt_latest > cmstdt) order by cmstdt, cmstdt_latest
        ) as partial_no
    from doses
    where cmdose >= {{ var('e2_min_dose_mg_m2') }} and cmstdt is not null
),

scenario_counts as (
    select
        usubjid,
        count(*) filter (where is_partial) as n_partial,
        coalesce(
            exp(sum(ln(cmstdt_latest - cmstdt + 1)) filter (where is_partial)), 1
        ) as n_scenarios
    from qualifying
    group by usubjid
),

assignments (usubjid, n_placed, placed_days) as (
    -- step 2: one more partial dose placed on each of its possible days per recursion
    select
        usubjid,
        0,
        array[]::date []
    from scenario_counts
    union all
    select
        a.usubjid,
        a.n_placed + 1,
        a.placed_days || d.day::date
    from assignments as a
    inner join scenario_counts as sc on a.usubjid = sc.usubjid
    inner join qualifying as q
        on a.usubjid = q.usubjid and q.is_partial and q.partial_no = a.n_placed + 1
    cross join lateral generate_series(q.cmstdt, q.cmstdt_latest, interval '1 day') as d (day)
    where sc.n_scenarios <= {{ var('e2_max_partial_scenarios') }}
),

scenarios as (
    select
        a.usubjid,
        a.placed_days,
        row_number() over (partition by a.usubjid order by a.placed_days) as scenario_id
    from assignments as a
    inner join scenario_counts as sc using (usubjid)
    where a.n_placed = case when sc.n_scenarios <= {{ var('e2_max_partial_scenarios') }} then sc.n_partial else 0 end
),

placed as (
    select
        s.usubjid,
        s.scenario_id,
        case when q.is_partial then s.placed_days[q.partial_no] else q.cmstdt end as dose_date
    from scenarios as s
    inner join qualifying as q using (usubjid)
),

spans as (
    -- step 3
    select
        usubjid,
        scenario_id,
        dose_date,
        lead(dose_date, {{ var('e2_min_doses') }} - 1) over (
            partition by usubjid, scenario_id order by dose_date
        ) - dose_date as span_days
    from placed
    where dose_date is not null
),

scenario_shortest as (
    select distinct on (usubjid, scenario_id)
        usubjid,
        scenario_id,
        span_days,
        dose_date as span_start
    from spans
    where span_days is not null
    order by usubjid, scenario_id, span_days, dose_date
),

shortest as (
    -- step 4, sure: the worst scenario (set-based, one sort)
    select distinct on (usubjid)
        usubjid,
        span_days as shortest_span_days,
        span_start as shortest_span_start
    from scenario_shortest
    order by usubjid asc, span_days desc, span_start asc
),

possible as (
    select
        sc.usubjid,
        case when sc.n_scenarios > {{ var('e2_max_partial_scenarios') }} then 0
            else min(ss.span_days)
        end as possible_shortest_span_days
    from scenario_counts as sc
    left join scenario_shortest as ss using (usubjid)
    group by sc.usubjid, sc.n_scenarios
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
