{#-
    Early-response features as of cycle 1 day 15 (domain.md section 7), one row per
    response-evaluable subject.

    Steps:
    1. as_of_date = first_dose_date + (ml_as_of_study_day - 1): C1D15 by default. Every lab
       and ECOG input is filtered to dates on or before it (or before the first dose for
       baselines); the labels are the only columns that look further.
    2. driving M-protein parameter, from dim_subject.measurable_disease_type: serum M (also
       when serum and urine are both measurable), else urine M, else the involved FLC chain.
    3. kinetics on that parameter: % change from baseline at the result nearest to C1D8 and
       C1D15 (within +/- ml_kinetic_window_days, never after as_of_date), and the least-squares
       slope of ln(value) against study day over days 1-15 (baseline placed on day 1).
    4. labels (domain.md 7): the best confirmed category (fct_response_assessments.
       confirmed_category, the category met by this and the next non-NE assessment) reached
       by the end of cycle ml_label_cycles (L = 4): label_cutoff_date = day 1 of cycle L +
       cycle_length_days - 1 (domain.md 3, so a delayed cycle 4 ends later). Day 1 of cycle L
       is its start in fct_cycles (the C4D1 dose); without a cycle-L dose, the date of the
       CLD1 visit (the earliest lab or RS record with VISIT 'C4D1', e.g. the response panel
       of a subject found progressing there); without either, first_dose_date +
       (L - 1) * cycle_length_days (the end is study day 112). A confirmed
       response counts only when the response AND the assessment that confirms it
       (confirming_assessment_date) are both dated on or before the cut-off; a response
       confirmed only by a later assessment does not. >= PR / MR / VGPR.
    Incremental by subject (macros/subject_scope.sql): an incremental build derives again the
    subjects of build_rederive_subjects only (every input below is read for them).
    Joins are by hash or merge only (pre_hook): the CTEs have no statistics, and the join of
    the subjects' driving parameter with their M-protein results (three conditions OR-ed)
    was estimated at 1 row where it had 12,000; the planner then joined the next CTEs in
    nested loops (133 million comparisons; 24 s of an incremental night at 10,000 subjects,
    1.8 s without them; a full build's select 5.7 s -> 3.0 s).
-#}
{{ subject_incremental_config() }}
{{ config(pre_hook=["set local jit = off", "set local enable_nestloop = off"]) }}

with

subjects as (
    select * from {{ ref('dim_subject') }}
    where {{ in_rederive_scope() }}
),

labs as materialized (
    -- M-protein and free light chains only (the staging view is evaluated once)
    select
        usubjid,
        lbtestcd,
        lbspec,
        lbdt,
        lbstresn
    from {{ ref('stg_sdtm__lb') }}
    where is_usable
        and {{ in_rederive_scope() }}
        and lbtestcd in ('MPROTEIN', 'KLCFR', 'LLCFR')
        and lbstresn is not null
        and lbdt is not null
),

performance_status as materialized (
    select
        usubjid,
        rsdt,
        rsstresc
    from {{ ref('stg_sdtm__rs') }}
    where is_usable
        and {{ in_rederive_scope() }}
        and rstestcd = 'ECOG'
        and rsdt is not null
),

response_assessments as (
    select * from {{ ref('fct_response_assessments') }}
    where {{ in_rederive_scope() }}
),

label_cycle_visits as (
    -- day 1 of cycle ml_label_cycles: its dose (fct_cycles), else its day-1 visit in LB / RS
    select
        usubjid,
        cycle_start_date as day1,
        1 as priority
    from {{ ref('fct_cycles') }}
    where cycle = {{ var('ml_label_cycles') }} and {{ in_rederive_scope() }}
    union all
    select
        usubjid,
        lbdt,
        2
    from {{ ref('stg_sdtm__lb') }}
    where is_usable and upper(visit) = 'C{{ var("ml_label_cycles") }}D1' and {{ in_rederive_scope() }}
    union all
    select
        usubjid,
        rsdt,
        2
    from {{ ref('stg_sdtm__rs') }}
    where is_usable and upper(visit) = 'C{{ var("ml_label_cycles") }}D1' and {{ in_rederive_scope() }}
),

label_cycle as (
    select distinct on (usubjid)
        usubjid,
        (day1 + {{ var('cycle_length_days') }} - 1)::date as label_cutoff_date
    from label_cycle_visits
    where day1 is not null
    order by usubjid, priority, day1
),

evaluable as (
    select
        s.usubjid,
        s."group" as group_label,
        s.doselvl as dose_level,
        s.first_dose_date,
        (s.first_dose_date + ({{ var('ml_as_of_study_day') }} - 1))::date as as_of_date,
        coalesce(
            lc.label_cutoff_date, s.first_dose_date
            + ({{ var('ml_label_cycles') }} * {{ var('cycle_length_days') }} - 1))::date
            as label_cutoff_date,
        s.baseline_b2m,
        s.baseline_albumin,
        case s.iss_stage when 'I' then 1 when 'II' then 2 when 'III' then 3 end as iss_stage,
        s.baseline_serum_m,
        s.baseline_urine_m,
        s.baseline_involved_flc,
        s.measurable_disease_type,
        s.involved_chain
    from subjects as s
    left join label_cycle as lc on s.usubjid = lc.usubjid
    where s.respevalfl
        and s.first_dose_date is not null
),

driving as (
    -- the parameter that drives the IMWG response (dim_subject.measurable_disease_type)
    select
        usubjid,
        case
            when measurable_disease_type in ('SERUM', 'SERUM+URINE') then 'SERUM_M'
            when measurable_disease_type = 'URINE' then 'URINE_M'
            when measurable_disease_type = 'FLC' then 'INVOLVED_FLC'
        end as driving_parameter,
        case involved_chain when 'KAPPA' then 'KLCFR' when 'LAMBDA' then 'LLCFR' end
            as involved_flc_testcd
    from evaluable
),

driving_results as (
    -- every result of the driving parameter dated on or before as_of_date
    select
        e.usubjid,
        l.lbdt,
        (l.lbdt - e.first_dose_date) + 1 as study_day,
        l.lbstresn as result_value
    from evaluable as e
    inner join driving as d on e.usubjid = d.usubjid
    inner join labs as l
        on e.usubjid = l.usubjid
            and e.as_of_date >= l.lbdt
            and (
                (d.driving_parameter = 'SERUM_M' and l.lbtestcd = 'MPROTEIN' and l.lbspec = 'SERUM')
                or (d.driving_parameter = 'URINE_M' and l.lbtestcd = 'MPROTEIN' and l.lbspec = 'URINE')
                or (
                    d.driving_parameter = 'INVOLVED_FLC' and l.lbspec = 'SERUM'
                    and d.involved_flc_testcd = l.lbtestcd
                )
            )
),

driving_daily as (
    select
        usubjid,
        lbdt,
        study_day,
        avg(result_value) as result_value
    from driving_results
    group by usubjid, lbdt, study_day
),

driving_baseline as (
    select distinct on (usubjid)
        usubjid,
        result_value as baseline_value
    from driving_daily
    where study_day <= 1
    order by usubjid asc, study_day desc
),

nearest_to_target as (
    -- one row per subject and target day: the on-treatment result closest to the target
    select distinct on (dd.usubjid, t.target_day)
        dd.usubjid,
        t.target_day,
        dd.result_value
    from driving_daily as dd
    cross join (
        values ({{ var('ml_early_study_day') }}), ({{ var('ml_as_of_study_day') }})
    ) as t (target_day)
    where dd.study_day > 1
        and dd.study_day between t.target_day - {{ var('ml_kinetic_window_days') }}
        and t.target_day + {{ var('ml_kinetic_window_days') }}
        and dd.study_day <= {{ var('ml_as_of_study_day') }}
    order by dd.usubjid, t.target_day, abs(dd.study_day - t.target_day), dd.study_day
),

pct_change as (
    select
        b.usubjid,
        max(case when n.target_day = {{ var('ml_early_study_day') }}
                then 100.0 * (n.result_value - b.baseline_value) / b.baseline_value
        end)
            as pct_change_c1d8,
        max(case when n.target_day = {{ var('ml_as_of_study_day') }}
                then 100.0 * (n.result_value - b.baseline_value) / b.baseline_value
        end)
            as pct_change_c1d15
    from driving_baseline as b
    inner join nearest_to_target as n on b.usubjid = n.usubjid
    where b.baseline_value > 0
    group by b.usubjid
),

slope_points as (
    -- baseline placed on day 1, then on-treatment results of days 2..as-of day
    select
        usubjid,
        1 as study_day,
        baseline_value as result_value
    from driving_baseline
    union all
    select
        usubjid,
        study_day,
        result_value
    from driving_daily
    where study_day between 2 and {{ var('ml_as_of_study_day') }}
),

log_slope as (
    select
        usubjid,
        -- in study-day order: a float sum depends on the order of its terms, and a subject
        -- derived alone (incremental) must get the very value a full build gives
        regr_slope(ln(result_value), study_day order by study_day) as log_m_slope_per_day,
        count(*) as n_kinetic_points
    from slope_points
    where result_value > 0
    group by usubjid
),

baseline_ecog as (
    select distinct on (e.usubjid)
        e.usubjid,
        case when ps.rsstresc ~ '^[0-4]$' then ps.rsstresc::integer end as ecog_baseline
    from evaluable as e
    inner join performance_status as ps
        on e.usubjid = ps.usubjid
            and e.first_dose_date >= ps.rsdt
    where ps.rsstresc ~ '^[0-4]$'
    order by e.usubjid asc, ps.rsdt desc
),

labels as (
    -- by definition the label looks past as_of_date (never a feature)
    select
        e.usubjid,
        coalesce(max({{ response_rank('ra.confirmed_category') }}) filter (
            where ra.assessment_date <= e.label_cutoff_date
            and (
                {{ response_rank('ra.confirmed_category') }} < {{ response_rank("'MR'") }}
                or ra.confirming_assessment_date <= e.label_cutoff_date
            )
        ), 0)
            as best_rank_by_cutoff
    from evaluable as e
    left join response_assessments as ra on e.usubjid = ra.usubjid
    group by e.usubjid
),

final as (
    select
        e.usubjid,
        e.as_of_date,
        e.first_dose_date,
        e.group_label,
        e.dose_level::double precision as dose_level,
        e.baseline_b2m::double precision as baseline_b2m,
        e.baseline_albumin::double precision as baseline_albumin,
        e.iss_stage::integer as iss_stage,
        e.baseline_serum_m::double precision as baseline_serum_m,
        e.baseline_urine_m::double precision as baseline_urine_m,
        e.baseline_involved_flc::double precision as baseline_involved_flc,
        be.ecog_baseline,
        d.driving_parameter,
        pc.pct_change_c1d8::double precision as pct_change_c1d8,
        pc.pct_change_c1d15::double precision as pct_change_c1d15,
        ls.log_m_slope_per_day::double precision as log_m_slope_per_day,
        coalesce(ls.n_kinetic_points, 0)::integer as n_kinetic_points,
        e.label_cutoff_date,
        lb.best_rank_by_cutoff >= {{ response_rank("'PR'") }} as label_pr,
        lb.best_rank_by_cutoff >= {{ response_rank("'MR'") }} as label_mr,
        lb.best_rank_by_cutoff >= {{ response_rank("'VGPR'") }} as label_vgpr
    from evaluable as e
    left join driving as d on e.usubjid = d.usubjid
    left join pct_change as pc on e.usubjid = pc.usubjid
    left join log_slope as ls on e.usubjid = ls.usubjid
    left join baseline_ecog as be on e.usubjid = be.usubjid
    left join labels as lb on e.usubjid = lb.usubjid
)

select * from final
