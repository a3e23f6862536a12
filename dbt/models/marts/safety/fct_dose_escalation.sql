{#-
  fct_dose_escalation: one row per dose level of the escalation cohort with the 3+3 decision
  (domain.md 5).
  Steps:
    1. per dose level (DM.DOSELVL, escalation cohort): subjects treated, DLT-evaluable
       (dim_subject.dltevalfl), subjects with >= 1 DLT;
    2. decision, with n = evaluable and d = subjects with a DLT:
       d >= 2 -> 'above MTD' at once, however few are evaluable yet (domain.md 5); then
       n < 3 -> 'enrolling'; n < 6 and d = 0 -> 'escalate'; n < 6 and d = 1 -> 'expand to 6';
       n >= 6 and d <= 1 -> 'escalate';
    3. the MTD is the highest level with <= 1 DLT among >= 6 evaluable whose next level up
       is 'above MTD'; otherwise every row says 'MTD not established' and why.
-#}
with subjects as (
    select * from {{ ref('dim_subject') }}
    where cohort = '{{ var("dlt_cohort") }}' and doselvl is not null and saffl
),

levels as (
    select
        doselvl as dose_level,
        count(*)::integer as n_treated,
        count(*) filter (where dltevalfl)::integer as n_dlt_evaluable,
        count(*) filter (where dltevalfl and n_dlts > 0)::integer as n_with_dlt
    from subjects
    group by doselvl
),

decided as (
    select
        l.*,
        case
            when l.n_with_dlt >= 2 then 'above MTD'
            when l.n_dlt_evaluable < {{ var('escalation_cohort_size') }} then 'enrolling'
            when l.n_dlt_evaluable < {{ var('expansion_cohort_size') }} and l.n_with_dlt = 0 then 'escalate'
            when l.n_dlt_evaluable < {{ var('expansion_cohort_size') }} and l.n_with_dlt = 1 then 'expand to {{ var("expansion_cohort_size") }}'
            else 'escalate'
        end as decision,
        lead(l.dose_level) over (order by l.dose_level) as next_dose_level
    from levels as l
),

with_next as (
    select
        d.*,
        n.decision as next_level_decision
    from decided as d
    left join decided as n on d.next_dose_level = n.dose_level
),

mtd as (
    select max(dose_level) as mtd_dose_level
    from with_next
    where n_dlt_evaluable >= {{ var('expansion_cohort_size') }} and n_with_dlt <= 1
        and next_level_decision = 'above MTD'
)

select
    w.dose_level,
    w.n_treated,
    w.n_dlt_evaluable,
    w.n_with_dlt,
    w.decision,
    w.next_dose_level,
    coalesce(w.dose_level = m.mtd_dose_level, false) as is_mtd,
    case when m.mtd_dose_level is not null then 'MTD established'
        else 'MTD not established'
    end as mtd_status,
    case when m.mtd_dose_level is not null then 'MTD is ' || m.mtd_dose_level || ' mg/m2'
        when not exists (
                select 1 from with_next
                where decision = 'above MTD'
            ) then 'MTD not established: no dose level has been exceeded yet'
        else 'MTD not established: the level below the exceeded level has fewer than {{ var("expansion_cohort_size") }} evaluable subjects or more than 1 DLT'
    end as mtd_reason
from with_next as w
cross join mtd as m
