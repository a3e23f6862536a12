{#-
  One row per subject and prior anti-myeloma regimen (CM records of CMCAT
  var prior_therapy_cmcat grouped by CMGRPID), as of the reference date.
  Steps:
    1. take prior-therapy CM records (usable, plus the count of flagged ones per regimen so
       an unmapped drug makes E4 not evaluable rather than silently met);
    2. keep regimens that started on or before the reference date (first study dose);
    3. per regimen: start/end, drugs, partner drugs (all but the index drug), IMiD content,
       index-drug first/last dose, partners outside the allowed list (seed drug_synonyms).
  Partial dates (domain.md 2): a month-only or year-only date is an interval of possible days.
  regimen_start_date / index_drug_first_dose are the earliest possible days (first day of the
  month/year) and *_latest the latest; index_drug_last_dose is as before (end date imputed to
  the last day, else the start date), index_drug_last_dose_earliest / _latest bound it. With
  full dates the bounds coincide. E3 and E5 (fct_eligibility) use the bounds to tell a sure
  outcome from one that depends on the missing day.
-#}
with cm as (
    select * from {{ ref('stg_sdtm__cm') }}
    where is_prior_myeloma_therapy
),

ref_dates as (
    select
        usubjid,
        reference_date
    from {{ ref('int_subject__reference_dates') }}
),

records as (
    select
        cm.*,
        coalesce(cm.cmgrpid, '(no CMGRPID) ' || cm.cmtrt) as regimen_id,
        case when cm.cmstdt_imputed then {{ iso_date('cm.cmstdtc', impute='last') }} else cm.cmstdt end as cmstdt_latest,
        case when cm.cmendt_imputed then {{ iso_date('cm.cmendtc', impute='first') }} else cm.cmendt end as cmendt_earliest
    from cm
    inner join ref_dates as r using (usubjid)
    where cm.cmstdt is null or r.reference_date is null or cm.cmstdt <= r.reference_date
)

select
    usubjid,
    regimen_id,
    min(cmstdt) filter (where is_usable) as regimen_start_date,
    min(cmstdt_latest) filter (where is_usable) as regimen_start_latest,
    max(coalesce(cmendt, cmstdt)) filter (where is_usable) as regimen_end_date,
    string_agg(distinct drug, ', ' order by drug) filter (where is_usable) as drugs,
    string_agg(distinct drug, ', ' order by drug) filter (where is_usable and drug <> '{{ var("index_drug") }}') as partner_drugs,
    count(distinct drug) filter (where is_usable and drug <> '{{ var("index_drug") }}') as n_partner_drugs,
    coalesce(bool_or(drug = '{{ var("index_drug") }}') filter (where is_usable), false) as has_index_drug,
    coalesce(bool_or(drug_class = 'IMiD') filter (where is_usable), false) as has_imid,
    coalesce(bool_or(is_anti_myeloma) filter (where is_usable), false) as is_anti_myeloma,
    string_agg(distinct drug, ', ' order by drug) filter (where is_usable and drug <> '{{ var("index_drug") }}' and not is_e4_allowed_partner) as disallowed_partners,
    count(*) filter (where not is_usable) as n_flagged_records,
    min(cmstdt) filter (where is_usable and drug = '{{ var("index_drug") }}') as index_drug_first_dose,
    min(cmstdt_latest) filter (where is_usable and drug = '{{ var("index_drug") }}') as index_drug_first_dose_latest,
    max(coalesce(cmendt, cmstdt)) filter (where is_usable and drug = '{{ var("index_drug") }}') as index_drug_last_dose,
    max(coalesce(cmendt_earliest, cmstdt)) filter (where is_usable and drug = '{{ var("index_drug") }}') as index_drug_last_dose_earliest,
    max(coalesce(cmendt, cmstdt_latest)) filter (where is_usable and drug = '{{ var("index_drug") }}') as index_drug_last_dose_latest,
    count(*) filter (where is_usable and (coalesce(cmstdt_imputed, false) or coalesce(cmendt_imputed, false))) as n_partial_dates
from records
group by usubjid, regimen_id
