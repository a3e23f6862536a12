{#-
  One row per subject and post-baseline response assessment (grouping rule: see
  int_response__assessment_inputs): values, change from baseline and nadir, the IMWG
  category, its confirmation, and the investigator's response for the same visit.
-#}
with confirmed as (
    select * from {{ ref('int_response__confirmed_assessments') }}
)

select
    usubjid::text as usubjid,
    assessment_seq::integer as assessment_seq,
    visit::text as visit,
    assessment_date::date as assessment_date,
    {{ adam_study_day('assessment_date', 'first_dose_date') }}::integer as ady,
    response_driver::text as response_driver,
    serum_m::numeric as serum_m,
    serum_m_pct_change::numeric as serum_m_pct_change,
    serum_m_nadir::numeric as serum_m_nadir,
    serum_m_change_from_nadir::numeric as serum_m_change_from_nadir,
    urine_m::numeric as urine_m,
    urine_m_pct_change::numeric as urine_m_pct_change,
    urine_m_nadir::numeric as urine_m_nadir,
    urine_m_change_from_nadir::numeric as urine_m_change_from_nadir,
    kappa_flc::numeric as kappa_flc,
    lambda_flc::numeric as lambda_flc,
    flc_ratio::numeric as flc_ratio,
    dflc::numeric as dflc,
    dflc_pct_change::numeric as dflc_pct_change,
    dflc_nadir::numeric as dflc_nadir,
    dflc_change_from_nadir::numeric as dflc_change_from_nadir,
    serum_ife::text as serum_ife,
    urine_ife::text as urine_ife,
    bmpc::numeric as bmpc,
    bmpc_pct_change::numeric as bmpc_pct_change,
    last_post_baseline_bmpc::numeric as last_post_baseline_bmpc,
    skeletal_progression::boolean as skeletal_progression,
    pd_source::text as pd_source,
    category::text as imwg_category,
    cr_capped_reason::text as cr_capped_reason,
    confirmed_category::text as confirmed_category,
    is_confirmed::boolean as is_confirmed,
    next_assessment_date::date as confirming_assessment_date,
    after_new_therapy::boolean as after_new_therapy,
    investigator_response::text as investigator_response,
    (investigator_response = category)::boolean as agrees_with_investigator
from confirmed
