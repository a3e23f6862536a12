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
)

select
    d.usubjid,
    count(*) as n_index_drug_doses,
    count(*) filter (where d.cmdose >= {{ var('e2_min_dose_mg_m2') }}) as n_qualifying_doses,
    count(*) filter (where d.cmdose is null) as n_doses_without_amount,
    (select min(s.span_days) from spans s where s.usubjid = d.usubjid) as shortest_span_days,
    (select s.cmstdt from spans s where s.usubjid = d.usubjid and s.span_days is not null order by s.span_days, s.cmstdt limit 1) as shortest_span_start
from doses d
group by d.usubjid
