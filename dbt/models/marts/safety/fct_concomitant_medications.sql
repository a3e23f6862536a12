{#-
  fct_concomitant_medications: one row per usable CM record with its on-study and new
  anti-myeloma therapy flags (domain.md 5 "Concomitant medications"; ADCM). Derived in
  int_safety__concomitant_medications.
-#}
with medications as (
    select * from {{ ref('int_safety__concomitant_medications') }}
)

select
    cm_record_key::text as cm_record_key,
    usubjid::text as usubjid,
    cmseq::numeric as cmseq,
    cmtrt::text as cmtrt,
    cmdecod::text as cmdecod,
    cmclas::text as cmclas,
    cmcat::text as cmcat,
    is_prior_myeloma_therapy::boolean as is_prior_myeloma_therapy,
    is_anti_myeloma::boolean as is_anti_myeloma,
    cmdose::numeric as cmdose,
    cmdosu::text as cmdosu,
    cmstdtc::text as cmstdtc,
    cmstdt::date as cmstdt,
    cmendtc::text as cmendtc,
    cmendt::date as cmendt,
    is_on_study::boolean as is_on_study,
    is_new_anti_myeloma_therapy::boolean as is_new_anti_myeloma_therapy
from medications
