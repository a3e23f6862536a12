{{ staging_incremental_config() }}
{%- set key_cols = sdtm_key_cols('vs') %}
{#-
  Vital signs, current version per (USUBJID, VSTESTCD, VSDTC).
  Steps: 1. latest delivery wins; 2. numeric result and date typed; 3. flag problems.
-#}
with source as (
    {{ incremental_source('vs') }}
),

subjects as (
    select usubjid from {{ ref('stg_sdtm__dm') }}
),

current_version as (
    {{ current_versions('source', 'vs', key_cols) }}
),

typed as materialized (  -- computed once: the final select reads issue_items three times
    select
        btrim(cv.usubjid) as usubjid,
        upper(btrim(cv.vstestcd)) as vstestcd,
        nullif(btrim(cv.vsorres), '') as vsorres,
        {{ safe_numeric('cv.vsorres') }} as vsorresn,
        nullif(btrim(cv.vsorresu), '') as vsorresu,
        nullif(btrim(cv.vsdtc), '') as vsdtc,
        {{ iso_date('cv.vsdtc') }} as vsdt,
        nullif(btrim(cv.visit), '') as visit,
        {{ issue_items([
            ("sub.usubjid is null", 'usubjid', 'cv.usubjid', 'subject not in DM'),
            (iso_date_status('cv.vsdtc') ~ " in ('invalid', 'missing')", 'vsdtc', 'cv.vsdtc', 'unparseable date'),
            ("nullif(btrim(cv.vsorres), '') is not null and " ~ safe_numeric('cv.vsorres') ~ " is null", 'vsorres', 'cv.vsorres', 'non-numeric result'),
        ]) }} as issue_items,
        cv._delivery_id,
        cv._file_id,
        cv._natural_key,
        {{ record_key('cv') }} as _record_key,
        {{ safe_numeric(raw_column_if_present('cv', 'vs', 'vsseq')) }} as vsseq,
        {{ raw_column_if_present('cv', 'vs', 'vstptnum') }} as vstptnum,
        {{ raw_column_if_present('cv', 'vs', 'vstpt') }} as vstpt,
        {{ raw_column_if_present('cv', 'vs', 'vspos') }} as vspos,
        {{ raw_column_if_present('cv', 'vs', 'vsloc') }} as vsloc,
        cv._file,
        cv._line
    from current_version as cv
    left join subjects as sub on sub.usubjid = btrim(cv.usubjid)
)

select
    usubjid,
    vstestcd,
    vsorres,
    vsorresn,
    vsorresu,
    vsdtc,
    vsdt,
    visit,
    jsonb_array_length(issue_items) = 0 as is_usable,
    {{ issue_text('issue_items') }} as issue,
    issue_items,
    vsseq,
    vstptnum,
    vstpt,
    vspos,
    vsloc,
    _record_key,
    _delivery_id,
    _file_id,
    _file,
    _line,
    _natural_key
from typed
