{{ staging_incremental_config() }}
{%- set key_cols = sdtm_key_cols('rs') %}
{#-
  Disease response and related assessments (OVRLRESP, ECOG, SKELSURV, prior-therapy PD),
  current version per (USUBJID, RSTESTCD, RSDTC, RSLNKGRP).
  Steps: 1. latest delivery wins; 2. rsdt is the full date (null when partial), rsdt_imputed
  the first day of a partial date; 3. cycle/day from VISIT; 4. the investigator record's
  supplemental qualifiers when the feed sends them (feeds.md, RS): DTHPDFL (death due to PD)
  and NACTDT (start of new anti-myeloma therapy; a full date, else null); 5. flag problems.
-#}
with source as (
    {{ incremental_source('rs') }}
),

subjects as (
    select usubjid from {{ ref('stg_sdtm__dm') }}
),

current_version as (
    {{ current_versions('source', 'rs', key_cols) }}
),

typed as materialized (  -- computed once: the final select reads issue_items three times
    select
        btrim(cv.usubjid) as usubjid,
        upper(btrim(cv.rstestcd)) as rstestcd,
        nullif(btrim(cv.rsstresc), '') as rsstresc,
        nullif(btrim(cv.rsdtc), '') as rsdtc,
        {{ iso_date('cv.rsdtc') }} as rsdt,
        {{ iso_date('cv.rsdtc', impute='first') }} as rsdt_imputed,
        {{ iso_date_status('cv.rsdtc') }} = 'partial' as rsdt_is_partial,
        {{ norm_upper('cv.rseval') }} as rseval,
        {{ norm_upper('cv.epoch') }} as epoch,
        nullif(btrim(cv.rslnkgrp), '') as rslnkgrp,
        nullif(btrim(cv.visit), '') as visit,
        {{ visit_cycle('cv.visit') }} as cycle,
        {{ visit_day('cv.visit') }} as cycle_day,
        upper({{ raw_column_if_present('cv', 'rs', 'dthpdfl') }}) = 'Y' as dthpdfl,
        {{ raw_column_if_present('cv', 'rs', 'nactdt') }} as nactdtc,
        {{ iso_date(raw_column_if_present('cv', 'rs', 'nactdt')) }} as nactdt,
        {{ issue_items([
            ("sub.usubjid is null", 'usubjid', 'cv.usubjid', 'subject not in DM'),
            (iso_date_status('cv.rsdtc') ~ " in ('invalid', 'missing')", 'rsdtc', 'cv.rsdtc', 'unparseable date'),
        ]) }} as issue_items,
        cv._delivery_id,
        cv._file_id,
        cv._natural_key,
        {{ record_key('cv') }} as _record_key,
        {{ safe_numeric(raw_column_if_present('cv', 'rs', 'rsseq')) }} as rsseq,
        cv._file,
        cv._line
    from current_version as cv
    left join subjects as sub on sub.usubjid = btrim(cv.usubjid)
)

select
    usubjid,
    rstestcd,
    rsstresc,
    rsdtc,
    rsdt,
    rsdt_imputed,
    rsdt_is_partial,
    rseval,
    epoch,
    rslnkgrp,
    visit,
    cycle,
    cycle_day,
    coalesce(dthpdfl, false) as dthpdfl,
    nactdtc,
    nactdt,
    jsonb_array_length(issue_items) = 0 as is_usable,
    {{ issue_text('issue_items') }} as issue,
    issue_items,
    rsseq,
    _record_key,
    _delivery_id,
    _file_id,
    _file,
    _line,
    _natural_key
from typed
