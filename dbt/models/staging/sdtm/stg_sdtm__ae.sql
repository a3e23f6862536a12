{{ staging_incremental_config() }}
{%- set key_cols = sdtm_key_cols('ae') %}
{#-
  Adverse events, current version per (USUBJID, AESPID).
  Steps: 1. latest delivery wins; 2. type dates (partial start -> first day, partial end ->
  last day, flagged as imputed); 3. grade: AETOXGR (CTCAE), else derived from AESEV
  (MILD 1, MODERATE 2, SEVERE 3; the CDISC pilot carries severity only), source recorded;
  4. flag problems.
-#}
with source as (
    {{ incremental_source('ae') }}
),

subjects as (
    select usubjid from {{ ref('stg_sdtm__dm') }}
),

current_version as (
    {{ current_versions('source', 'ae', key_cols) }}
),

typed as materialized (  -- computed once: the final select reads issue_items three times
    select
        btrim(cv.usubjid) as usubjid,
        btrim(cv.aespid) as aespid,
        {{ safe_numeric(raw_column_if_present('cv', 'ae', 'aeseq')) }}::integer as aeseq,  -- SDTM AESEQ when sent (ADAE key)
        nullif(btrim(cv.aeterm), '') as aeterm,
        coalesce({{ norm_upper('cv.aedecod') }}, {{ norm_upper('cv.aeterm') }}) as aedecod,
        {{ norm_upper('cv.aebodsys') }} as aebodsys,
        nullif(btrim(cv.aestdtc), '') as aestdtc,
        {{ iso_date('cv.aestdtc', impute='first') }} as aestdt,
        {{ iso_date_status('cv.aestdtc') }} = 'partial' as aestdt_imputed,
        nullif(btrim(cv.aeendtc), '') as aeendtc,
        {{ iso_date('cv.aeendtc', impute='last') }} as aeendt,
        {{ iso_date_status('cv.aeendtc') }} = 'partial' as aeendt_imputed,
        coalesce(
            (regexp_match(btrim(cv.aetoxgr), '^(?:GRADE\s*)?([1-5])(?:\.0+)?$', 'i'))[1]::int,
            case {{ norm_upper('cv.aesev') }} when 'MILD' then 1 when 'MODERATE' then 2 when 'SEVERE' then 3 end
        ) as aetoxgr,
        case when (regexp_match(btrim(cv.aetoxgr), '^(?:GRADE\s*)?([1-5])(?:\.0+)?$', 'i'))[1] is not null then 'AETOXGR'
            when {{ norm_upper('cv.aesev') }} in ('MILD', 'MODERATE', 'SEVERE') then 'AESEV'
        end as grade_source,
        {{ norm_upper('cv.aesev') }} as aesev,
        {{ norm_upper('cv.aeser') }} as aeser,
        {{ norm_upper('cv.aerel') }} as aerel,
        {{ norm_upper('cv.aeout') }} as aeout,
        {{ norm_upper('cv.aeacn') }} as aeacn,
        {{ norm_upper('cv.aedlt') }} as aedlt,
        {{ issue_items([
            ("sub.usubjid is null", 'usubjid', 'cv.usubjid', 'subject not in DM'),
            (iso_date_status('cv.aestdtc') ~ " in ('invalid', 'missing')", 'aestdtc', 'cv.aestdtc', 'unparseable date'),
            (iso_date_status('cv.aeendtc') ~ " = 'invalid'", 'aeendtc', 'cv.aeendtc', 'unparseable date'),
            ("nullif(btrim(cv.aetoxgr), '') is not null and (regexp_match(btrim(cv.aetoxgr), '^(?:GRADE\\s*)?([1-5])(?:\\.0+)?$', 'i')) is null", 'aetoxgr', 'cv.aetoxgr', 'non-numeric value'),
        ]) }} as issue_items,
        cv._delivery_id,
        cv._file_id,
        cv._natural_key,
        {{ record_key('cv') }} as _record_key,
        cv._file,
        cv._line
    from current_version as cv
    left join subjects as sub on sub.usubjid = btrim(cv.usubjid)
)

select
    usubjid,
    aespid,
    aeseq,
    aeterm,
    aedecod,
    aebodsys,
    aestdtc,
    aestdt,
    aestdt_imputed,
    aeendtc,
    aeendt,
    aeendt_imputed,
    aetoxgr,
    grade_source,
    aesev,
    aeser,
    aerel,
    aeout,
    aeacn,
    aedlt,
    _record_key as ae_record_key,
    jsonb_array_length(issue_items) = 0 as is_usable,
    {{ issue_text('issue_items') }} as issue,
    issue_items,
    _record_key,
    _delivery_id,
    _file_id,
    _file,
    _line,
    _natural_key
from typed
