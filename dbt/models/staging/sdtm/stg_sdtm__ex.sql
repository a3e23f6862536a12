{{ staging_incremental_config() }}
{%- set key_cols = sdtm_key_cols('ex') %}
{#-
  Exposure (study drug and partner drug administrations), current version per
  (USUBJID, EXTRT, EXSTDTC).
  Steps: 1. latest delivery wins per natural key; 2. map EXTRT to drug and class (synonym
  seed); 3. type dose and dates, parse cycle/day from VISIT ('C3D8'); 4. flag problems.
-#}
with source as (
    {{ incremental_source('ex') }}
),

drugs as (
    select * from {{ ref('drug_synonyms') }}
),

subjects as (
    select usubjid from {{ ref('stg_sdtm__dm') }}
),

current_version as (
    {{ current_versions('source', 'ex', key_cols) }}
),

typed as materialized (  -- computed once: the final select reads issue_items three times
    select
        btrim(cv.usubjid) as usubjid,
        upper(btrim(cv.extrt)) as extrt,
        d.drug,
        d.drug_class,
        d.is_anti_myeloma,
        {{ safe_numeric('cv.exdose') }} as exdose,
        nullif(btrim(cv.exdosu), '') as exdosu,
        nullif(btrim(cv.exstdtc), '') as exstdtc,
        {{ iso_date('cv.exstdtc') }} as exstdt,
        nullif(btrim(cv.exendtc), '') as exendtc,
        coalesce({{ iso_date('cv.exendtc') }}, {{ iso_date('cv.exstdtc') }}) as exendt,
        {{ norm_upper('cv.exroute') }} as exroute,
        {{ norm_upper('cv.exdosfrq') }} as exdosfrq,
        nullif(btrim(cv.visit), '') as visit,
        {{ visit_cycle('cv.visit') }} as cycle,
        {{ visit_day('cv.visit') }} as cycle_day,
        {{ norm_upper('cv.epoch') }} as epoch,
        nullif(btrim(cv.exadj), '') as exadj,
        {{ issue_items([
            ("sub.usubjid is null", 'usubjid', 'cv.usubjid', 'subject not in DM'),
            ("d.drug is null", 'extrt', 'cv.extrt', 'unknown drug name'),
            (iso_date_status('cv.exstdtc') ~ " = 'invalid'", 'exstdtc', 'cv.exstdtc', 'unparseable date'),
            (iso_date_status('cv.exstdtc') ~ " in ('partial', 'missing')", 'exstdtc', 'cv.exstdtc', 'partial date'),
            (iso_date_status('cv.exendtc') ~ " = 'invalid'", 'exendtc', 'cv.exendtc', 'unparseable date'),
            ("nullif(btrim(cv.exdose), '') is not null and " ~ safe_numeric('cv.exdose') ~ " is null", 'exdose', 'cv.exdose', 'non-numeric value'),
        ]) }} as issue_items,
        cv._delivery_id,
        cv._file_id,
        cv._natural_key,
        {{ record_key('cv') }} as _record_key,
        {{ safe_numeric(raw_column_if_present('cv', 'ex', 'exseq')) }} as exseq,
        cv._file,
        cv._line
    from current_version as cv
    left join drugs as d on d.synonym = upper(btrim(cv.extrt))
    left join subjects as sub on sub.usubjid = btrim(cv.usubjid)
)

select
    usubjid,
    extrt,
    drug,
    drug_class,
    is_anti_myeloma,
    exdose,
    exdosu,
    exstdtc,
    exstdt,
    exendtc,
    exendt,
    exroute,
    exdosfrq,
    visit,
    cycle,
    cycle_day,
    epoch,
    exadj,
    _record_key as ex_record_key,
    jsonb_array_length(issue_items) = 0 as is_usable,
    {{ issue_text('issue_items') }} as issue,
    issue_items,
    exseq,
    _record_key,
    _delivery_id,
    _file_id,
    _file,
    _line,
    _natural_key
from typed
