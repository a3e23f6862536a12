{#-
  E2 evidence: the tightest run of e2_min_doses qualifying index-drug doses in the index
  regimen.
  Steps:
    1. qualifying doses: index-drug CM records of the index regimen with CMDOSE >=
       e2_min_dose_mg_m2 (each record is one administration; lower doses do not count);
    2. order them by date; for each dose, the date of the dose e2_min_doses - 1 places later;
    3. a qualifying cycle exists when that span is <= e2_max_span_days (27 days: a 28-day
       window); report the shortest span and where it starts.
-#}
with idx as (
    select usubjid, regimen_id from {{ ref('int_eligibility__index_regimen') }}
),

cm as (
    select cm.*, coalesce(cm.cmgrpid, '(no CMGRPID) ' || cm.cmtrt) as regimen_id
    from {{ ref('stg_sdtm__cm') }} cm
    where cm.is_usable and cm.is_prior_myeloma_therapy and cm.drug = '{{ var("index_drug") }}'
),

doses as (
    select cm.usubjid, cm.cmstdt, cm.cmdose
    from cm
    join idx using (usubjid, regimen_id)
),

qualifying as (
    select
        usubjid,
        cmstdt,
        lead(cmstdt, {{ var('e2_min_doses') }} - 1) over (partition by usubjid order by cmstdt) as nth_dose_date
    from doses
    where cmdose >= {{ var('e2_min_dose_mg_m2') }}
),

spans as (
    select usubjid, cmstdt, nth_dose_date, nth_dose_date - cmstdt as span_days from qualifying
),

shortest as (
    -- set-based (one sort), not a correlated subquery per subject (quadratic on large trials)
    select distinct on (usubjid) usubjid, span_days as shortest_span_days, cmstdt as shortest_span_start
    from spans
    where span_days is not null
    order by usubjid, span_days, cmstdt
),

counts as (
    select
        d.usubjid,
        count(*) as n_index_drug_doses,
        count(*) filter (where d.cmdose >= {{ var('e2_min_dose_mg_m2') }}) as n_qualifying_doses,
        count(*) filter (where d.cmdose is null) as n_doses_without_amount
    from doses d
    group by d.usubjid
)

select
    c.usubjid,
    c.n_index_drug_doses,
    c.n_qualifying_doses,
    c.n_doses_without_amount,
    s.shortest_span_days,
    s.shortest_span_start
from counts c
left join shortest s using (usubjid)
