{#- Confirmed best overall response per subject (same macros as the study marts). -#}
with confirmed as (
    {{ imwg_confirm_responses(ref('conformance_imwg__assessments')) }}
),

best as (
    {{ imwg_best_response('confirmed') }}
),

subjects as (
    select distinct usubjid from {{ ref('conformance_imwg__assessments') }}
)

select s.usubjid, b.best_response, b.best_response_date
from subjects s
left join best b using (usubjid)
