{#-
  Confirmation of each assessment's category (macro imwg_confirm_responses, domain.md 4).
  Steps:
    1. PD by imaging = the skeletal survey alone made the PD;
    2. death from PD confirms a PD at the subject's last non-NE assessment (no later one can);
    3. apply the shared confirmation macro (the same SQL as the admiralonco conformance models).
-#}
with categories as (
    select * from {{ ref('int_response__assessment_categories') }}
),

prepared as (
    select
        c.*,
        c.pd_source = 'IMAGING' as pd_by_imaging,
        c.death_from_pd and c.assessment_seq = max(c.assessment_seq) filter (where c.category <> 'NE')
            over (partition by c.usubjid) as pd_death_confirms
    from categories as c
),

confirmed as (
    {{ imwg_confirm_responses('prepared') }}
)

select * from confirmed
