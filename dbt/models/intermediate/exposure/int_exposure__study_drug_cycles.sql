{#-
  Assign every study-drug administration to a cycle (domain.md 3).
  Steps:
    1. the cycle comes from the EX VISIT label (CnDd) when present;
    2. otherwise from dates: counted in cycle-length steps from the latest labelled day-1
       dose on or before the dose date (a dose 30 days after C8D1 is in cycle 9);
    3. otherwise (no labels at all): 28-day windows counted from the first study dose (first
       dose given of any study drug, int_exposure__doses.is_dose_given: the same TRTSDT as
       int_subject__treatment);
    4. a cycle is maintenance when EPOCH says MAINTENANCE, else combination.
-#}
with doses as (
    select * from {{ ref('int_exposure__doses') }}
    where is_study_treatment and study_drug_present
),

first_dose as (
    select
        usubjid,
        min(exstdt) filter (where is_dose_given) as trtsdt
    from {{ ref('int_exposure__doses') }}
    group by usubjid
),

labelled_starts as (
    select
        usubjid,
        visit_cycle as cycle,
        min(exstdt) as start_date
    from doses
    where visit_cycle is not null and (visit_day = 1 or visit_day is null)
    group by usubjid, visit_cycle
),

assigned as (
    select
        d.*,
        coalesce(
            d.visit_cycle,
            (
                select ls.cycle + floor((d.exstdt - ls.start_date) / {{ var('cycle_length_days') }}::numeric)::int
                from labelled_starts as ls
                where ls.usubjid = d.usubjid and ls.start_date <= d.exstdt
                order by ls.start_date desc
                limit 1
            ),
            floor((d.exstdt - f.trtsdt) / {{ var('cycle_length_days') }}::numeric)::int + 1
        ) as cycle,
        case when d.visit_cycle is not null then 'visit' else 'date' end as cycle_source
    from doses as d
    inner join first_dose as f using (usubjid)
)

select
    usubjid,
    ex_record_key,
    drug,
    exdose,
    exdosu,
    exstdt,
    exendt,
    visit,
    visit_day,
    epoch,
    exadj,
    is_held,
    not is_held as is_given,
    cycle,
    cycle_source,
    case when epoch = '{{ var("maintenance_epoch") }}' then 'MAINTENANCE' else 'COMBINATION' end as phase
from assigned
where cycle is not null and cycle >= 1
