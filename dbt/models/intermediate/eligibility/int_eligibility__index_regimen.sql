{#-
  The index regimen per subject: the most recent prior regimen containing the index drug
  (bortezomib), by regimen start date (then last index-drug dose, then regimen id).
  Also: whether any other anti-myeloma regimen started after it (E5 evidence):
  later_regimens started after it for sure (earliest possible start after the index
  regimen's latest possible start); possibly_later_regimens may have, depending on the
  missing day/month of a partial start date (latest possible start after the index
  regimen's earliest). With full dates the two lists coincide.
-#}
with regimens as (
    select * from {{ ref('int_eligibility__prior_regimens') }}
),

index_regimen as (
    select distinct on (usubjid) *
    from regimens
    where has_index_drug
    order by usubjid asc, regimen_start_date desc nulls last, index_drug_last_dose desc nulls last, regimen_id desc
),

later as (
    select
        i.usubjid,
        string_agg(r.regimen_id, ', ' order by r.regimen_start_date)
        filter (where r.regimen_start_date > coalesce(i.regimen_start_latest, i.regimen_start_date)) as later_regimens,
        string_agg(r.regimen_id, ', ' order by r.regimen_start_date) as possibly_later_regimens
    from index_regimen as i
    inner join regimens as r
        on i.usubjid = r.usubjid and i.regimen_id <> r.regimen_id and r.is_anti_myeloma
            and coalesce(r.regimen_start_latest, r.regimen_start_date) > i.regimen_start_date
    group by i.usubjid
),

counts as (
    select
        usubjid,
        count(*) as n_prior_regimens
    from regimens
    group by usubjid
)

select
    i.*,
    l.later_regimens,
    l.possibly_later_regimens,
    c.n_prior_regimens
from index_regimen as i
left join later as l using (usubjid)
left join counts as c using (usubjid)
