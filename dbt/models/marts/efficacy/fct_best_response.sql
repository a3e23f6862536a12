{#-
  One row per treated subject: best confirmed IMWG response (macro imwg_best_response),
  first response, duration of response, responder flags, and the investigator's confirmed
  best response beside it. A subject with no usable assessment is NE.
-#}
with context as (
    select * from {{ ref('int_response__subject_context') }}
),

confirmed as (
    select * from {{ ref('int_response__confirmed_assessments') }}
),

best as (
    {{ imwg_best_response('confirmed') }}
),

first_response as (
    select
        usubjid,
        min(assessment_date) filter (where {{ response_rank('confirmed_category') }} >= 4) as first_response_date,
        min(assessment_date) filter (where {{ response_rank('confirmed_category') }} >= 3) as first_mr_or_better_date
    from confirmed
    where {{ before_new_therapy('assessment_date', 'new_therapy_date') }}
    group by usubjid
),

dor as (
    select
        usubjid,
        aval,
        cnsr
    from {{ ref('int_response__time_to_event') }}
    where paramcd = 'DOR'
),

investigator as (
    select * from {{ ref('int_response__investigator_best') }}
),

final as (
    select
        c.usubjid,
        coalesce(b.best_response, 'NE') as best_response,
        b.best_response_date,
        coalesce(b.n_assessments, 0) as n_assessments,
        case when {{ response_rank("coalesce(b.best_response, 'NE')") }} >= 4 then fr.first_response_date end as first_response_date,
        case when {{ response_rank("coalesce(b.best_response, 'NE')") }} >= 3 then fr.first_mr_or_better_date end as first_clinical_benefit_date,
        d.aval as duration_of_response_days,
        d.cnsr as duration_of_response_cnsr,
        {{ response_rank("coalesce(b.best_response, 'NE')") }} >= 4 as is_responder,
        {{ response_rank("coalesce(b.best_response, 'NE')") }} >= 3 as is_clinical_benefit,
        i.best_response as investigator_best_response
    from context as c
    left join best as b using (usubjid)
    left join first_response as fr using (usubjid)
    left join dor as d using (usubjid)
    left join investigator as i using (usubjid)
)

select
    usubjid::text as usubjid,
    best_response::text as best_response,
    best_response_date::date as best_response_date,
    n_assessments::integer as n_assessments,
    first_response_date::date as first_response_date,
    first_clinical_benefit_date::date as first_clinical_benefit_date,
    duration_of_response_days::integer as duration_of_response_days,
    duration_of_response_cnsr::integer as duration_of_response_cnsr,
    is_responder::boolean as is_responder,
    is_clinical_benefit::boolean as is_clinical_benefit,
    investigator_best_response::text as investigator_best_response,
    (investigator_best_response = best_response)::boolean as agrees_with_investigator
from final
