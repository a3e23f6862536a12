{#-
  One row per usable EX record with what it means for dosing.
  Steps:
    1. study_drug_present: does the study drug (var study_drug) appear in EX at all? When it
       does not (e.g. the CDISC pilot), every EX record counts as study treatment, so first
       and last dose dates still populate;
    2. is_study_treatment: the record is study treatment (study drug, or any drug in the
       fallback); is_partner: another drug given on study;
    3. is_held: EXADJ says the dose was held, or the dose is 0 for the study drug;
       is_given: study treatment actually administered (not held; dose > 0 for the study drug);
    4. exposure_end_date: EXENDTC; when it is missing on a continuing regimen (EXDOSFRQ in var
       continuing_dose_frequencies, e.g. QD) the exposure runs to the subject's end of
       participation (DM.RFENDTC, when sent and not before EXSTDTC); else EXSTDTC.
-#}
with ex as (
    select * from {{ ref('stg_sdtm__ex') }} where is_usable
),

dm as (
    select usubjid, rfendt from {{ ref('stg_sdtm__dm') }}
),

presence as (
    select count(*) filter (where drug = '{{ var("study_drug") }}') > 0 as study_drug_present from ex
)

select
    ex.usubjid,
    ex.ex_record_key,
    ex.drug,
    ex.drug_class,
    ex.exdose,
    ex.exdosu,
    ex.exstdt,
    ex.exendt,
    case when ex.exendtc is null and ex.exdosfrq in ({% for f in var('continuing_dose_frequencies') %}'{{ f }}'{{ "," if not loop.last }}{% endfor %})
              and dm.rfendt >= ex.exstdt
         then dm.rfendt else ex.exendt end as exposure_end_date,
    ex.visit,
    ex.cycle as visit_cycle,
    ex.cycle_day as visit_day,
    ex.epoch,
    ex.exadj,
    p.study_drug_present,
    case when p.study_drug_present then ex.drug = '{{ var("study_drug") }}' else true end as is_study_treatment,
    p.study_drug_present and ex.drug <> '{{ var("study_drug") }}' as is_partner,
    coalesce(upper(ex.exadj) ~ '{{ var("held_dose_pattern") }}', false)
        or (ex.drug = '{{ var("study_drug") }}' and coalesce(ex.exdose, 0) = 0) as is_held
from ex
cross join presence p
left join dm using (usubjid)
