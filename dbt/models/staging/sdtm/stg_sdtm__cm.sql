{{ staging_incremental_config() }}
{%- set key_cols = sdtm_key_cols('cm') %}
{#-
  Concomitant and prior medications, current version per (USUBJID, CMTRT, CMSTDTC).
  Steps: 1. latest delivery wins; 2. map CMTRT to drug/class (synonym seed);
  3. dates: partial start dates are imputed to the first day and partial end dates to the
  last day of the period (ADaM convention; flags say so); 4. flag problems. An unknown drug
  name is a problem only on prior myeloma therapy (CMCAT), where eligibility depends on it.
-#}
with source as (
    {{ incremental_source('cm') }}
),

drugs as (
    select * from {{ ref('drug_synonyms') }}
),

subjects as (
    select usubjid from {{ ref('stg_sdtm__dm') }}
),

current_version as (
    {{ current_versions('source', 'cm', key_cols) }}
),

typed as materialized (  -- computed once: the final select reads issue_items three times
    select
        btrim(cv.usubjid) as usubjid,
        upper(btrim(cv.cmtrt)) as cmtrt,
        d.drug,
        d.drug_class,
        coalesce(d.is_anti_myeloma, false) as is_anti_myeloma,
        coalesce(d.is_e4_allowed_partner, false) as is_e4_allowed_partner,
        {{ norm_upper('cv.cmcat') }} as cmcat,
        coalesce({{ norm_upper('cv.cmcat') }} = '{{ var("prior_therapy_cmcat") }}', false) as is_prior_myeloma_therapy,
        nullif(btrim(cv.cmgrpid), '') as cmgrpid,
        {{ safe_numeric('cv.cmdose') }} as cmdose,
        nullif(btrim(cv.cmdosu), '') as cmdosu,
        nullif(btrim(cv.cmstdtc), '') as cmstdtc,
        {{ iso_date('cv.cmstdtc', impute='first') }} as cmstdt,
        {{ iso_date_status('cv.cmstdtc') }} = 'partial' as cmstdt_imputed,
        nullif(btrim(cv.cmendtc), '') as cmendtc,
        {{ iso_date('cv.cmendtc', impute='last') }} as cmendt,
        {{ iso_date_status('cv.cmendtc') }} = 'partial' as cmendt_imputed,
        {{ issue_items([
            ("sub.usubjid is null", 'usubjid', 'cv.usubjid', 'subject not in DM'),
            ("d.drug is null and coalesce(" ~ norm_upper('cv.cmcat') ~ " = '" ~ var('prior_therapy_cmcat') ~ "', false)", 'cmtrt', 'cv.cmtrt', 'unknown drug name'),
            (iso_date_status('cv.cmstdtc') ~ " = 'invalid'", 'cmstdtc', 'cv.cmstdtc', 'unparseable date'),
            (iso_date_status('cv.cmendtc') ~ " = 'invalid'", 'cmendtc', 'cv.cmendtc', 'unparseable date'),
            ("nullif(btrim(cv.cmdose), '') is not null and " ~ safe_numeric('cv.cmdose') ~ " is null", 'cmdose', 'cv.cmdose', 'non-numeric value'),
        ]) }} as issue_items,
        cv._delivery_id,
        cv._file_id,
        cv._natural_key,
        {{ record_key('cv') }} as _record_key,
        {{ safe_numeric(raw_column_if_present('cv', 'cm', 'cmseq')) }} as cmseq,
        {{ raw_column_if_present('cv', 'cm', 'cmdecod') }} as cmdecod,
        {{ raw_column_if_present('cv', 'cm', 'cmclas') }} as cmclas,
        cv._file,
        cv._line
    from current_version as cv
    left join drugs as d on d.synonym = upper(btrim(cv.cmtrt))
    left join subjects as sub on sub.usubjid = btrim(cv.usubjid)
)

select
    usubjid,
    cmtrt,
    drug,
    drug_class,
    is_anti_myeloma,
    is_e4_allowed_partner,
    cmcat,
    is_prior_myeloma_therapy,
    cmgrpid,
    cmdose,
    cmdosu,
    cmstdtc,
    cmstdt,
    cmstdt_imputed,
    cmendtc,
    cmendt,
    cmendt_imputed,
    jsonb_array_length(issue_items) = 0 as is_usable,
    {{ issue_text('issue_items') }} as issue,
    issue_items,
    cmseq,
    cmdecod,
    cmclas,
    _record_key,
    _delivery_id,
    _file_id,
    _file,
    _line,
    _natural_key
from typed
