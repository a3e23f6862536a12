{{ staging_incremental_config() }}
{%- set key_cols = sdtm_key_cols('ds') %}
{#-
  Disposition events, current version per (USUBJID, DSCAT, DSSCAT) extended by DSSEQ when
  sent: a later delivery's record corrects the reason (feeds.md).
  Steps: 1. latest delivery wins; 2. texts trimmed and upper-cased, the start date typed
  (a partial date imputed to the first day, flagged); 3. flag problems.
-#}
with source as (
    {{ incremental_source('ds') }}
),

subjects as (
    select usubjid from {{ ref('stg_sdtm__dm') }}
),

current_version as (
    {{ current_versions('source', 'ds', key_cols) }}
),

typed as materialized (  -- computed once: the final select reads issue_items three times
    select
        btrim(cv.usubjid) as usubjid,
        nullif(btrim(cv.dsterm), '') as dsterm,
        {{ norm_upper('cv.dsdecod') }} as dsdecod,
        {{ norm_upper('cv.dscat') }} as dscat,
        {{ norm_upper('cv.dsscat') }} as dsscat,
        {{ norm_upper('cv.epoch') }} as epoch,
        nullif(btrim(cv.dsstdtc), '') as dsstdtc,
        {{ iso_date('cv.dsstdtc', impute='first') }} as dsstdt,
        {{ iso_date_status('cv.dsstdtc') }} = 'partial' as dsstdt_imputed,
        {{ issue_items([
            ("sub.usubjid is null", 'usubjid', 'cv.usubjid', 'subject not in DM'),
            ("nullif(btrim(cv.dsdecod), '') is null", 'dsdecod', 'cv.dsdecod', 'missing reason'),
            (iso_date_status('cv.dsstdtc') ~ " in ('invalid', 'missing')", 'dsstdtc', 'cv.dsstdtc', 'unparseable date'),
        ]) }} as issue_items,
        cv._delivery_id,
        cv._file_id,
        cv._natural_key,
        {{ record_key('cv') }} as _record_key,
        {{ safe_numeric(raw_column_if_present('cv', 'ds', 'dsseq')) }} as dsseq,
        cv._file,
        cv._line
    from current_version as cv
    left join subjects as sub on sub.usubjid = btrim(cv.usubjid)
)

select
    usubjid,
    dsterm,
    dsdecod,
    dscat,
    dsscat,
    epoch,
    dsstdtc,
    dsstdt,
    dsstdt_imputed,
    jsonb_array_length(issue_items) = 0 as is_usable,
    {{ issue_text('issue_items') }} as issue,
    issue_items,
    dsseq,
    _record_key,
    _delivery_id,
    _file_id,
    _file,
    _line,
    _natural_key
from typed
