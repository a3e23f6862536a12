{#-
  fct_exposure_records: one row per usable EX record (any drug) with what it means for
  dosing (domain.md 3): study drug or partner, held or given, the doses it stands for and the
  dose it delivered, its cycle and phase when it is a study-drug administration. The rules
  are derived in int_exposure__doses and int_exposure__study_drug_cycles (see their steps);
  this mart publishes them for BI and for ADEX.
  Incremental by subject (macros/subject_scope.sql): an incremental build derives again the
  subjects of build_rederive_subjects only.
-#}
{{ subject_incremental_config() }}
with doses as (
    select * from {{ ref('int_exposure__doses') }}
    where {{ in_rederive_scope() }}
),

study_drug_cycles as (
    select
        ex_record_key,
        cycle,
        phase
    from {{ ref('int_exposure__study_drug_cycles') }}
    where {{ in_rederive_scope() }}
)

select
    d.usubjid::text as usubjid,
    d.ex_record_key::text as ex_record_key,
    d.drug::text as drug,
    d.drug_class::text as drug_class,
    d.exdose::numeric as exdose,
    d.exdosu::text as exdosu,
    d.exdosfrq::text as exdosfrq,
    d.exstdt::date as exstdt,
    d.exendt::date as exendt,
    d.exposure_end_date::date as exposure_end_date,
    d.visit::text as visit,
    d.epoch::text as epoch,
    d.administrations::numeric as administrations,
    d.record_dose::numeric as record_dose,
    d.is_study_treatment::boolean as is_study_treatment,
    d.is_partner::boolean as is_partner,
    d.is_held::boolean as is_held,
    d.is_dose_given::boolean as is_dose_given,
    c.cycle::integer as cycle,
    c.phase::text as phase
from doses as d
left join study_drug_cycles as c using (ex_record_key)
