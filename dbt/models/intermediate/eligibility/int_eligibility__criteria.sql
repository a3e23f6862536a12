{#-
  int_eligibility__criteria: one row per subject and criterion E1-E7 (domain.md 2), evaluated
  as of the first study dose (the derivation behind fct_eligibility; dim_subject reads it). status is met / not_met / not_evaluable; not_evaluable is never met.
  Steps:
    1. gather per subject: reference date, index regimen, index-drug exposure spans, prior PD
       on the index regimen, baseline measurable disease, on-study partner drugs;
    2. evaluate each criterion into (status, readable evidence, typed evidence columns);
    3. stack the seven criteria.
  A criterion with nothing to test is met vacuously: E4 for an index regimen without partner
  drugs is met (E1 carries that failure).
  Partial dates (month-only, year-only; domain.md 2): every date is an interval of possible
  days. When every possible day gives the same outcome, that outcome stands; when the outcome
  depends on the missing part, the criterion is not_evaluable and its evidence says which
  partial date decides it. E2 (dose spans), E3 (PD inside [first bortezomib dose, last + 84
  days]) and E5 (a later regimen) use the bounds of the intermediate models.
-#}
with subjects as (
    select usubjid from {{ ref('stg_sdtm__dm') }}
),

ref_dates as (
    select * from {{ ref('int_subject__reference_dates') }}
),

regimen_counts as (
    select
        usubjid,
        count(*) as n_prior_regimens
    from {{ ref('int_eligibility__prior_regimens') }}
    group by usubjid
),

idx as (
    select * from {{ ref('int_eligibility__index_regimen') }}
),

exposure as (
    select * from {{ ref('int_eligibility__index_drug_exposure') }}
),

prior_pd as (
    select
        rs.usubjid,
        rs.rslnkgrp,
        coalesce(rs.rsdt, rs.rsdt_imputed) as pd_date,
        case when rs.rsdt_is_partial then {{ iso_date('rs.rsdtc', impute='last') }}
            else coalesce(rs.rsdt, rs.rsdt_imputed)
        end as pd_date_latest,
        coalesce(rs.rsdt_is_partial, false) as pd_date_is_partial,
        rs.rsdtc as pd_dtc
    from {{ ref('stg_sdtm__rs') }} as rs
    where rs.is_usable and rs.rstestcd = 'OVRLRESP' and upper(rs.rsstresc) = 'PD'
        and rs.epoch = '{{ var("prior_pd_epoch") }}'
),

index_pd as (
    select
        i.usubjid,
        -- inside the window whatever the missing day: earliest PD day on/after the latest
        -- possible first dose, latest PD day on/before the earliest possible last dose + 84
        min(
            p.pd_date) filter (
            where p.pd_date >= coalesce(i.index_drug_first_dose_latest, i.index_drug_first_dose)
            and p.pd_date_latest <= coalesce(i.index_drug_last_dose_earliest, i.index_drug_last_dose)
            + {{ var('e3_pd_window_days') }}
        ) as qualifying_pd_date,
        -- inside the window for some choice of the missing days (equal to the above with full dates)
        min(
            p.pd_dtc) filter (
            where p.pd_date_latest >= i.index_drug_first_dose
            and p.pd_date <= coalesce(i.index_drug_last_dose_latest, i.index_drug_last_dose)
            + {{ var('e3_pd_window_days') }}
        ) as possible_pd_dtc,
        min(p.pd_date) as first_pd_date,
        count(p.pd_date) as n_pd_records
    from idx as i
    left join prior_pd as p on i.usubjid = p.usubjid and i.regimen_id = p.rslnkgrp
    group by i.usubjid
),

baseline as (
    select * from {{ ref('int_subject__baseline_labs') }}
),

on_study_partners as (
    select
        usubjid,
        count(distinct drug) as n_partner_drugs,
        string_agg(distinct drug, ', ' order by drug) as partner_drugs
    from {{ ref('int_exposure__doses') }}
    where is_partner and not is_held
    group by usubjid
),

facts as (
    select
        s.usubjid,
        r.reference_date,
        r.trtsdt,
        coalesce(rc.n_prior_regimens, 0) as n_prior_regimens,
        i.regimen_id as index_regimen_id,
        i.regimen_start_date,
        i.partner_drugs as index_partner_drugs,
        coalesce(i.n_partner_drugs, 0) as n_index_partners,
        i.has_imid,
        i.disallowed_partners,
        i.n_flagged_records,
        i.later_regimens,
        i.index_drug_first_dose,
        i.index_drug_last_dose,
        e.n_qualifying_doses,
        e.n_doses_without_amount,
        e.shortest_span_days,
        e.shortest_span_start,
        p.qualifying_pd_date,
        p.possible_pd_dtc,
        p.first_pd_date,
        e.possible_shortest_span_days,
        coalesce(e.n_partial_dates, 0) as n_partial_dose_dates,
        i.possibly_later_regimens,
        p.n_pd_records,
        b.baseline_serum_m,
        b.baseline_urine_m,
        b.baseline_involved_flc,
        b.baseline_flc_ratio,
        b.measurable_disease_type,
        o.partner_drugs as on_study_partner_drugs,
        coalesce(o.n_partner_drugs, 0) as n_on_study_partners
    from subjects as s
    left join ref_dates as r using (usubjid)
    left join regimen_counts as rc using (usubjid)
    left join idx as i using (usubjid)
    left join exposure as e using (usubjid)
    left join index_pd as p using (usubjid)
    left join baseline as b using (usubjid)
    left join on_study_partners as o using (usubjid)
),

criteria as (
    -- E1 prior bortezomib combination
    select
        usubjid,
        'E1' as criterion_id,
        'prior bortezomib combination' as criterion,
        case when index_regimen_id is null and n_prior_regimens = 0 then 'not_evaluable'
            when index_regimen_id is null then 'not_met'
            when n_index_partners >= 1 then 'met' else 'not_met'
        end as status,
        case when index_regimen_id is null and n_prior_regimens = 0 then 'no prior myeloma therapy recorded'
            when index_regimen_id is null then n_prior_regimens || ' prior regimen(s), none containing {{ var("index_drug") }}'
            else 'index regimen ' || index_regimen_id || ' partners: ' || coalesce(index_partner_drugs, 'none')
        end as evidence,
        index_regimen_id,
        regimen_start_date as evidence_date_from,
        index_drug_last_dose as evidence_date_to,
        null::integer as evidence_days,
        n_index_partners::integer as evidence_count,
        null::numeric as evidence_value,
        index_partner_drugs as evidence_drugs
    from facts

    union all
    -- E2 adequate bortezomib exposure
    select
        usubjid,
        'E2',
        'adequate bortezomib exposure',
        case when index_regimen_id is null then 'not_evaluable'
            when shortest_span_days <= {{ var('e2_max_span_days') }} then 'met'
            when coalesce(n_doses_without_amount, 0) > 0 then 'not_evaluable'
            when possible_shortest_span_days <= {{ var('e2_max_span_days') }} then 'not_evaluable'
            else 'not_met'
        end,
        case when index_regimen_id is null then 'no index regimen'
            else coalesce(n_qualifying_doses, 0) || ' dose(s) >= {{ var("e2_min_dose_mg_m2") }} mg/m2; shortest span of {{ var("e2_min_doses") }} qualifying doses: '
                || coalesce(shortest_span_days || ' days from ' || shortest_span_start, 'none (fewer than {{ var("e2_min_doses") }})')
                || case when coalesce(n_doses_without_amount, 0) > 0 then '; ' || n_doses_without_amount || ' dose(s) without amount' else '' end
                || case when not (shortest_span_days <= {{ var('e2_max_span_days') }})
                        and possible_shortest_span_days <= {{ var('e2_max_span_days') }}
                        then '; ' || n_partial_dose_dates || ' partial dose date(s): the span is ' || possible_shortest_span_days
                            || ' to ' || shortest_span_days || ' days depending on the missing day, so <= {{ var("e2_max_span_days") }} cannot be decided'
                    else ''
                end
        end,
        index_regimen_id,
        shortest_span_start,
        shortest_span_start + shortest_span_days,
        shortest_span_days,
        coalesce(n_qualifying_doses, 0)::integer,
        null::numeric,
        null::text
    from facts

    union all
    -- E3 bortezomib-resistant
    select
        usubjid,
        'E3',
        'bortezomib-resistant (PD within 84 days of last dose)',
        case when index_regimen_id is null then 'not_evaluable'
            when qualifying_pd_date is not null then 'met'
            when possible_pd_dtc is not null then 'not_evaluable'
            else 'not_met'
        end,
        case when index_regimen_id is null then 'no index regimen'
            when n_pd_records = 0 then 'no PD recorded for index regimen ' || index_regimen_id
            when qualifying_pd_date is null and possible_pd_dtc is not null
                then 'PD dated ' || possible_pd_dtc || ' (partial date): whether it lies between the first '
                    || '{{ var("index_drug") }} dose (' || index_drug_first_dose || ') and {{ var("e3_pd_window_days") }} days after the last ('
                    || index_drug_last_dose || ') depends on the missing day'
            else 'PD on ' || coalesce(qualifying_pd_date, first_pd_date) || ', '
                || (coalesce(qualifying_pd_date, first_pd_date) - index_drug_last_dose) || ' days after last {{ var("index_drug") }} dose on ' || index_drug_last_dose
        end,
        index_regimen_id,
        index_drug_first_dose,
        coalesce(qualifying_pd_date, first_pd_date),
        (coalesce(qualifying_pd_date, first_pd_date) - index_drug_last_dose)::integer,
        coalesce(n_pd_records, 0)::integer,
        null::numeric,
        null::text
    from facts

    union all
    -- E4 allowed partners
    select
        usubjid,
        'E4',
        'allowed partner drugs',
        case when index_regimen_id is null then 'not_evaluable'
            when coalesce(n_flagged_records, 0) > 0 then 'not_evaluable'
            when disallowed_partners is not null then 'not_met'
            else 'met'
        end,
        case when index_regimen_id is null then 'no index regimen'
            when coalesce(n_flagged_records, 0) > 0 then n_flagged_records || ' prior-therapy record(s) flagged in audit.data_issues'
            when disallowed_partners is not null then 'partners not allowed: ' || disallowed_partners
            when n_index_partners = 0 then 'no partner drug: met vacuously (E1 carries the failure)'
            else 'partners: ' || coalesce(index_partner_drugs, 'none')
        end,
        index_regimen_id,
        null::date,
        null::date,
        null::integer,
        n_index_partners::integer,
        null::numeric,
        coalesce(disallowed_partners, index_partner_drugs)
    from facts

    union all
    -- E5 recency of an IMiD-containing index regimen
    select
        usubjid,
        'E5',
        'recency (IMiD index regimen is the most recent)',
        case when index_regimen_id is null then 'not_evaluable'
            when not has_imid then 'met'
            when later_regimens is not null then 'not_met'
            when possibly_later_regimens is not null then 'not_evaluable'
            else 'met'
        end,
        case when index_regimen_id is null then 'no index regimen'
            when not has_imid then 'non-IMiD index regimen qualifies regardless of time'
            when later_regimens is null and possibly_later_regimens is not null
                then 'regimen(s) ' || possibly_later_regimens || ' may have started after the IMiD index regimen: '
                    || 'the order depends on the missing day/month of a partial start date'
            when later_regimens is null then 'IMiD index regimen is the most recent anti-myeloma regimen'
            else 'later anti-myeloma regimen(s): ' || later_regimens
        end,
        index_regimen_id,
        regimen_start_date,
        reference_date,
        (reference_date - index_drug_last_dose)::integer,
        null::integer,
        null::numeric,
        later_regimens
    from facts

    union all
    -- E6 measurable disease at baseline
    select
        usubjid,
        'E6',
        'measurable disease at baseline',
        case when measurable_disease_type is not null then 'met'
            when baseline_serum_m is null and baseline_urine_m is null and baseline_involved_flc is null then 'not_evaluable'
            else 'not_met'
        end,
        'serum M ' || coalesce(trim_scale(baseline_serum_m::numeric)::text || ' g/dL', 'missing')
        || ', urine M ' || coalesce(trim_scale(baseline_urine_m::numeric)::text || ' mg/24h', 'missing')
        || ', involved FLC ' || coalesce(trim_scale(baseline_involved_flc::numeric)::text || ' mg/dL', 'missing')
        || ' (ratio ' || coalesce(trim_scale(baseline_flc_ratio::numeric)::text, 'missing') || ')'
        || coalesce('; measurable by ' || measurable_disease_type, ''),
        null::text,
        null::date,
        reference_date,
        null::integer,
        null::integer,
        coalesce(baseline_serum_m, baseline_urine_m, baseline_involved_flc),
        measurable_disease_type
    from facts

    union all
    -- E7 regimen replicated on study
    select
        usubjid,
        'E7',
        'on-study partners replicate the index regimen',
        case when index_regimen_id is null or trtsdt is null then 'not_evaluable'
            when coalesce(on_study_partner_drugs, '') = coalesce(index_partner_drugs, '') then 'met'
            else 'not_met'
        end,
        case when index_regimen_id is null then 'no index regimen'
            when trtsdt is null then 'not treated on study'
            else 'on study: ' || coalesce(on_study_partner_drugs, 'none') || '; index regimen: ' || coalesce(index_partner_drugs, 'none')
        end,
        index_regimen_id,
        trtsdt,
        null::date,
        null::integer,
        n_on_study_partners::integer,
        null::numeric,
        on_study_partner_drugs
    from facts
)

select
    usubjid,
    criterion_id,
    criterion,
    status,
    evidence,
    index_regimen_id,
    evidence_date_from,
    evidence_date_to,
    evidence_days,
    evidence_count,
    evidence_value,
    evidence_drugs
from criteria
