{#-
  fct_vital_signs: one row per usable vital-sign record in standard units, with its baseline
  and change from baseline (domain.md 5 "Vital signs and body weight"; ADVS). Derived in
  int_safety__vital_signs. Incremental by subject (macros/subject_scope.sql): an incremental
  build derives again the subjects of build_rederive_subjects only.
-#}
{{ subject_incremental_config() }}
with vital_signs as (
    select * from {{ ref('int_safety__vital_signs') }}
    where {{ in_rederive_scope() }}
)

select
    vs_record_key::text as vs_record_key,
    usubjid::text as usubjid,
    vsseq::numeric as vsseq,
    vstestcd::text as vstestcd,
    vsorres::text as vsorres,
    vsorresu::text as vsorresu,
    aval::numeric as aval,
    avalu::text as avalu,
    vsdt::date as vsdt,
    visit::text as visit,
    vspos::text as vspos,
    vstpt::text as vstpt,
    vstptnum::numeric as vstptnum,
    base::numeric as base,
    is_baseline::boolean as is_baseline,
    is_post_baseline::boolean as is_post_baseline,
    chg::numeric as chg,
    pchg::numeric as pchg
from vital_signs
