{#-
  dim_subject: one row per subject (DM), with group, regimen, doses, baselines, eligibility
  and population flags. Built from staging and intermediate models only, never from a fact
  (eligibility from int_eligibility__criteria, DLTs from int_safety__adverse_events;
  tests/transform/test_dbt_graph.py), so facts may join it without a cycle.
  Steps:
    1. group: the letter of DM.ARMCD (A/B, 'GROUP A', 'GRPA' ...); imid_regimen: the index
       regimen contains an IMiD; derived_group: via var group_label_source ('arm_list':
       A = non-IMiD, B = IMiD; 'narrative': A = IMiD); group_mismatch when they differ;
    2. first/last dose (TRTSDT/TRTEDT), maintenance, final-assessment due date;
    3. baselines (B2M, albumin, ISS, serum/urine M, involved FLC, measurable-disease type);
    4. is_eligible: all seven criteria met (not_evaluable counts as not met);
    5. populations (domain.md 4 "Populations", 5), defined here once and read by every
       endpoint (dbt marts and cfz_platform.stats alike):
       saffl = received any study drug (a dose given of carfilzomib or a partner, eligible or
       not: waivers happen); dltevalfl = escalation cohort, treated, and all
       planned_doses_per_cycle cycle-1 carfilzomib doses given or a DLT; respevalfl =
       eligible (all of E1-E7 met), treated, measurable disease at baseline. A subject who
       dies or stops before the first assessment stays response-evaluable (best response NE,
       a non-responder in the ORR denominator);
    6. analysis_group: the group by-group endpoints use, var endpoint_group_source:
       'assigned' (default: "group", DM.ARMCD) or 'derived' (derived_group, from the index
       regimen through group_label_source); group_mismatch lists where they differ;
    7. last_known_alive_date: int_subject__last_known_alive (its one definition; ADSL
       LSTALVDT reads it here);
    8. actarm_supported: DM.ACTARM when the exposure supports it (int_subject__actual_arm;
       ADSL TRT01A reads it).
-#}
with dm as (
    select * from {{ ref('stg_sdtm__dm') }}
),

treatment as (
    select * from {{ ref('int_subject__treatment') }}
),

actual_arm as (
    select
        usubjid,
        actarm_supported
    from {{ ref('int_subject__actual_arm') }}
),

last_alive as (
    select
        usubjid,
        last_known_alive_date
    from {{ ref('int_subject__last_known_alive') }}
),

baseline as (
    select * from {{ ref('int_subject__baseline_labs') }}
),

idx as (
    select
        usubjid,
        regimen_id,
        has_imid,
        partner_drugs
    from {{ ref('int_eligibility__index_regimen') }}
),

eligibility as (
    select
        usubjid,
        bool_and(status = 'met') as is_eligible,
        string_agg(criterion_id, ', ' order by criterion_id) filter (where status <> 'met') as criteria_not_met
    from {{ ref('int_eligibility__criteria') }}
    group by usubjid
),

dlts as (
    select
        usubjid,
        count(*) filter (where is_dlt) as n_dlts
    from {{ ref('int_safety__adverse_events') }}
    group by usubjid
),

grouped as (
    select
        dm.*,
        (regexp_match(coalesce(dm.armcd, ''), '^(?:GROUP|GRP|ARM)?[\s_-]*([AB])$'))[1] as group_label
    from dm
),

final as (
    select
        g.usubjid,
        g.studyid,
        g.siteid,
        g.armcd,
        g.arm,
        g.group_label as "group",
        i.has_imid as imid_regimen,
        case when i.has_imid is null then null
            when '{{ var("group_label_source") }}' = 'narrative' then case when i.has_imid then 'A' else 'B' end
            else case when i.has_imid then 'B' else 'A' end
        end as derived_group,
        i.regimen_id as index_regimen_id,
        i.partner_drugs as index_partner_drugs,
        g.doselvl,
        g.cohort,
        g.age,
        g.sex,
        g.race,
        g.rfstdt,
        g.subjid,
        g.armcd_as_sent,
        g.actarm,
        g.rfstdtc,
        g.rfendtc,
        t.trtsdt as first_dose_date,
        t.trtedt as last_dose_date,
        t.n_study_doses,
        t.cumulative_dose,
        t.last_combination_cycle,
        coalesce(t.entered_maintenance, false) as entered_maintenance,
        t.maintenance_start_date,
        t.final_assessment_due_date,
        g.dthdt as death_date,
        g.dthfl,
        la.last_known_alive_date,
        aa.actarm_supported,
        b.baseline_b2m,
        b.baseline_albumin,
        b.iss_stage,
        b.baseline_serum_m,
        b.baseline_urine_m,
        b.baseline_kappa,
        b.baseline_lambda,
        b.baseline_flc_ratio,
        b.involved_chain,
        b.baseline_involved_flc,
        b.baseline_bmpc,
        b.measurable_disease_type,
        coalesce(e.is_eligible, false) as is_eligible,
        e.criteria_not_met,
        t.trtsdt is not null as saffl,
        coalesce(t.cycle1_doses_given, 0) as cycle1_doses_given,
        coalesce(d.n_dlts, 0) as n_dlts,
        g.cohort = '{{ var("dlt_cohort") }}' and t.trtsdt is not null
        and (coalesce(t.cycle1_doses_given, 0) >= {{ var('planned_doses_per_cycle') }} or coalesce(d.n_dlts, 0) > 0) as dltevalfl_raw,
        coalesce(e.is_eligible, false) and t.trtsdt is not null and b.measurable_disease_type is not null as respevalfl
    from grouped as g
    left join treatment as t using (usubjid)
    left join baseline as b using (usubjid)
    left join idx as i using (usubjid)
    left join eligibility as e using (usubjid)
    left join dlts as d using (usubjid)
    left join last_alive as la using (usubjid)
    left join actual_arm as aa using (usubjid)
),

grouped_final as (
    select
        f.*,
        coalesce(f."group" is not null and f.derived_group is not null and f."group" <> f.derived_group, false) as group_mismatch,
        {%- if var('endpoint_group_source') == 'derived' %}
        f.derived_group as analysis_group,
        {%- elif var('endpoint_group_source') == 'assigned' %}
            f."group" as analysis_group,
        {%- else %}
        {{ exceptions.raise_compiler_error("var endpoint_group_source must be 'assigned' or 'derived', not '" ~ var('endpoint_group_source') ~ "'") }}
        {%- endif %}
        '{{ var("endpoint_group_source") }}'::text as analysis_group_source
    from final as f
)

select
    usubjid,
    studyid,
    siteid,
    armcd,
    arm,
    "group",
    imid_regimen,
    derived_group,
    group_mismatch,
    index_regimen_id,
    index_partner_drugs,
    doselvl,
    cohort,
    age,
    sex,
    race,
    rfstdt,
    first_dose_date,
    last_dose_date,
    n_study_doses,
    cumulative_dose,
    last_combination_cycle,
    entered_maintenance,
    maintenance_start_date,
    final_assessment_due_date,
    death_date,
    dthfl,
    last_known_alive_date,
    baseline_b2m,
    baseline_albumin,
    iss_stage,
    baseline_serum_m,
    baseline_urine_m,
    baseline_kappa,
    baseline_lambda,
    baseline_flc_ratio,
    involved_chain,
    baseline_involved_flc,
    baseline_bmpc,
    measurable_disease_type,
    is_eligible,
    criteria_not_met,
    saffl,
    cycle1_doses_given,
    n_dlts,
    coalesce(dltevalfl_raw, false) as dltevalfl,
    respevalfl,
    analysis_group,
    analysis_group_source,
    subjid,
    armcd_as_sent,
    actarm,
    actarm_supported,
    rfstdtc,
    rfendtc
from grouped_final
