{{ staging_incremental_config() }}
{%- set key_cols = sdtm_key_cols('mh') %}
{#-
  Medical history, current version per (USUBJID, MHTERM, MHSTDTC) extended by MHSEQ when
  sent. MHSTDTC may be empty (feeds.md): such records are told apart by MHSEQ.
  Steps: 1. latest delivery wins; 2. texts trimmed, dates typed (partial start imputed to
  the first day, partial end to the last, flagged); 3. flag problems (an empty start date is
  none: a condition's onset is often unknown).
-#}
with source as (
    {{ incremental_source('mh') }}
),

subjects as (
    select usubjid from {{ ref('stg_sdtm__dm') }}
),

current_version as (
    {{ current_versions('source', 'mh', key_cols) }}
),

typed as materialized (  -- computed once: the final select reads issue_items three times
    select
        btrim(cv.usubjid) as usubjid,
        btrim(cv.mhterm) as mhterm,
        {{ norm_upper('cv.mhdecod') }} as mhdecod,
        {{ norm_upper('cv.mhbodsys') }} as mhbodsys,
        {{ norm_upper('cv.mhcat') }} as mhcat,
        nullif(btrim(cv.mhstdtc), '') as mhstdtc,
        {{ iso_date('cv.mhstdtc', impute='first') }} as mhstdt,
        {{ iso_date_status('cv.mhstdtc') }} = 'partial' as mhstdt_imputed,
        nullif(btrim(cv.mhendtc), '') as mhendtc,
        {{ iso_date('cv.mhendtc', impute='last') }} as mhendt,
        {{ norm_upper('cv.mhenrtpt') }} as mhenrtpt,
        {{ issue_items([
            ("sub.usubjid is null", 'usubjid', 'cv.usubjid', 'subject not in DM'),
            (iso_date_status('cv.mhstdtc') ~ " = 'invalid'", 'mhstdtc', 'cv.mhstdtc', 'unparseable date'),
            (iso_date_status('cv.mhendtc') ~ " = 'invalid'", 'mhendtc', 'cv.mhendtc', 'unparseable date'),
        ]) }} as issue_items,
        cv._delivery_id,
        cv._file_id,
        cv._natural_key,
        {{ record_key('cv') }} as _record_key,
        {{ safe_numeric(raw_column_if_present('cv', 'mh', 'mhseq')) }} as mhseq,
        cv._file,
        cv._line
    from current_version as cv
    left join subjects as sub on sub.usubjid = btrim(cv.usubjid)
)

select
    usubjid,
    mhterm,
    mhdecod,
    mhbodsys,
    mhcat,
    mhstdtc,
    mhstdt,
    mhstdt_imputed,
    mhendtc,
    mhendt,
    mhenrtpt,
    jsonb_array_length(issue_items) = 0 as is_usable,
    {{ issue_text('issue_items') }} as issue,
    issue_items,
    mhseq,
    _record_key,
    _delivery_id,
    _file_id,
    _file,
    _line,
    _natural_key
from typed
