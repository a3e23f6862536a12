{#-
  Time-to-event rows (ADTTE shape) for TTP, PFS, OS, PFSMAINT and DOR (domain.md 4).
  Steps:
    1. usable assessments: those dated before new anti-myeloma therapy; the first confirmed PD
       among them (dated at the first of the two PD assessments); the last non-NE one;
    2. TTP from the first study dose: event = confirmed PD, else death from PD; censored at
       the last assessment (before new therapy; death from other causes is censored there);
       no assessment: censored at the start date;
    3. PFSMAINT from the first maintenance dose: event = the earlier of confirmed PD and death
       from any cause (before new therapy), else censored as in TTP at the last assessment
       on or after the start;
    4. DOR from the first confirmed response >= response_dor_min_category: event and
       censoring as TTP (a choice: the synopsis does not define DOR);
    5. PFS (all treated) from the first study dose: event = the earlier of confirmed PD and
       death from any cause (both before new therapy), else censored as TTP;
    6. OS from the first study dose: event = death from any cause (new therapy does not
       censor), else censored at the last date known alive (int_subject__last_known_alive);
    7. AVAL = ADT - STARTDT + 1, CNSR 0 = event, 1 = censored.
-#}
{%- set dor_rank = {'sCR': 7, 'CR': 6, 'VGPR': 5, 'PR': 4, 'MR': 3}[var('response_dor_min_category')] -%}
with context as (
    select * from {{ ref('int_response__subject_context') }}
),

usable as (
    select a.*
    from {{ ref('int_response__confirmed_assessments') }} as a
    where {{ before_new_therapy('a.assessment_date', 'a.new_therapy_date') }}
),

first_pd as (
    select
        usubjid,
        min(assessment_date) as pd_date
    from usable
    where confirmed_category = 'PD'
    group by usubjid
),

assessment_dates as (
    -- one grouped pass over the assessments (no correlated subquery per subject)
    select
        c.usubjid,
        max(u.assessment_date) filter (
            where u.category <> 'NE' and (p.pd_date is null or u.assessment_date <= p.pd_date)
        ) as last_assessment_date,
        min(u.assessment_date) filter (
            where {{ response_rank('u.confirmed_category') }} >= {{ dor_rank }}
            and (p.pd_date is null or u.assessment_date < p.pd_date)
        ) as first_response_date,
        max(u.assessment_date) filter (
            where u.category <> 'NE' and u.assessment_date >= c.maintenance_start_date
            and (p.pd_date is null or u.assessment_date <= p.pd_date)
        ) as last_maint_assessment_date
    from context as c
    left join first_pd as p on c.usubjid = p.usubjid
    left join usable as u on c.usubjid = u.usubjid
    group by c.usubjid
),

last_alive as (
    select * from {{ ref('int_subject__last_known_alive') }}
),

summary as (
    select
        c.*,
        la.last_known_alive_date,
        p.pd_date,
        ad.last_assessment_date,
        ad.first_response_date,
        ad.last_maint_assessment_date,
        c.death_date is not null and {{ before_new_therapy('c.death_date', 'c.new_therapy_date') }} as death_counts
    from context as c
    left join first_pd as p using (usubjid)
    left join assessment_dates as ad using (usubjid)
    left join last_alive as la using (usubjid)
),

progression as (
    -- TTP and DOR share one event rule: confirmed PD, or death from PD (domain.md 4)
    select
        s.*,
        case when s.pd_date is not null then s.pd_date
            when s.death_from_pd and s.death_counts then s.death_date
        end as event_date,
        case when s.pd_date is not null then 'CONFIRMED PROGRESSIVE DISEASE (IMWG)'
            when s.death_from_pd and s.death_counts then 'DEATH DUE TO PROGRESSIVE DISEASE'
        end as event_desc,
        case when s.new_therapy_date is not null then 'NEW ANTI-MYELOMA THERAPY: LAST ASSESSMENT BEFORE IT'
            when s.death_date is not null then 'DEATH NOT DUE TO PD: LAST ASSESSMENT'
        end as censor_reason
    from summary as s
),

ttp as (
    select
        usubjid,
        'TTP' as paramcd,
        'Time to Progression (days)' as param,
        first_dose_date as startdt,
        coalesce(event_date, last_assessment_date, first_dose_date) as adt,
        case when event_date is not null then 0 else 1 end as cnsr,
        event_desc as evntdesc,
        case when event_date is not null then null
            when censor_reason is not null then censor_reason
            when last_assessment_date is null then 'NO POST-BASELINE ASSESSMENT: FIRST DOSE DATE'
            else 'LAST RESPONSE ASSESSMENT WITHOUT PD'
        end as cnsdtdsc
    from progression
),

overall_pfs_base as (
    -- PFS: confirmed PD or death from any cause, whichever comes first (domain.md 4)
    select
        p.*,
        least(p.pd_date, case when p.death_counts then p.death_date end) as pfs_event_date
    from progression as p
),

overall_pfs as (
    select
        usubjid,
        'PFS' as paramcd,
        'Progression-Free Survival (days)' as param,
        first_dose_date as startdt,
        coalesce(pfs_event_date, last_assessment_date, first_dose_date) as adt,
        case when pfs_event_date is not null then 0 else 1 end as cnsr,
        case when pfs_event_date is null then null
            when pd_date = pfs_event_date then 'CONFIRMED PROGRESSIVE DISEASE (IMWG)'
            else 'DEATH'
        end as evntdesc,
        case when pfs_event_date is not null then null
            when new_therapy_date is not null then 'NEW ANTI-MYELOMA THERAPY: LAST ASSESSMENT BEFORE IT'
            when last_assessment_date is null then 'NO POST-BASELINE ASSESSMENT: FIRST DOSE DATE'
            else 'LAST RESPONSE ASSESSMENT WITHOUT PD'
        end as cnsdtdsc
    from overall_pfs_base
),

overall_survival as (
    select
        usubjid,
        'OS' as paramcd,
        'Overall Survival (days)' as param,
        first_dose_date as startdt,
        coalesce(death_date, last_known_alive_date, first_dose_date) as adt,
        case when death_date is not null then 0 else 1 end as cnsr,
        case when death_date is not null then 'DEATH' end as evntdesc,
        case when death_date is null then 'LAST DATE KNOWN ALIVE' end as cnsdtdsc
    from summary
),

pfs_base as (
    select
        s.*,
        case when s.pd_date >= s.maintenance_start_date then s.pd_date end as maint_pd_date,
        case when s.death_counts and s.death_date >= s.maintenance_start_date then s.death_date end as maint_death_date
    from summary as s
    where s.entered_maintenance and s.maintenance_start_date is not null
),

pfs as (
    select
        usubjid,
        'PFSMAINT' as paramcd,
        'Maintenance Progression-Free Survival (days)' as param,
        maintenance_start_date as startdt,
        coalesce(least(maint_pd_date, maint_death_date), last_maint_assessment_date, maintenance_start_date) as adt,
        case when maint_pd_date is not null or maint_death_date is not null then 0 else 1 end as cnsr,
        case when maint_pd_date is not null and (maint_death_date is null or maint_pd_date <= maint_death_date)
                then 'CONFIRMED PROGRESSIVE DISEASE (IMWG)'
            when maint_death_date is not null then 'DEATH'
        end as evntdesc,
        case when maint_pd_date is not null or maint_death_date is not null then null
            when new_therapy_date is not null then 'NEW ANTI-MYELOMA THERAPY: LAST ASSESSMENT BEFORE IT'
            when last_maint_assessment_date is null then 'NO ASSESSMENT IN MAINTENANCE: MAINTENANCE START DATE'
            else 'LAST RESPONSE ASSESSMENT WITHOUT PD'
        end as cnsdtdsc
    from pfs_base
),

dor as (
    select
        usubjid,
        'DOR' as paramcd,
        'Duration of Response (days)' as param,
        first_response_date as startdt,
        coalesce(event_date, last_assessment_date, first_response_date) as adt,
        case when event_date is not null then 0 else 1 end as cnsr,
        event_desc as evntdesc,
        case when event_date is not null then null
            else coalesce(censor_reason, 'LAST RESPONSE ASSESSMENT WITHOUT PD')
        end as cnsdtdsc
    from progression
    where first_response_date is not null
),

unioned as (
    select * from ttp
    union all
    select * from overall_pfs
    union all
    select * from overall_survival
    union all
    select * from pfs
    union all
    select * from dor
)

select
    *,
    (adt - startdt + 1) as aval
from unioned
