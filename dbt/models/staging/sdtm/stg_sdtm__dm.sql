{{ config(materialized="table") }}
{#-
  Demographics, current version per USUBJID.
  Steps: 1. rank versions by natural key (latest delivery, then its newest file, then line,
            wins; a superseded file no longer counts, macros/parsing.sql superseded_files);
         2. type the columns (dates, numbers); 3. flag semantic problems.
-#}
with source as (
    {{ raw_rows('dm') }}  -- up to the build's upper watermark (macros/incremental.sql)
),

ranked as (
    select
        *,
        {{ latest_version_rank(["upper(btrim(usubjid))"]) }} as version_rank
    from source as src
    where not exists (
            select 1 from ({{ superseded_files() }}) as sup
            where sup.file_id = src._file_id
        )
),

current_version as (
    select * from ranked
    where version_rank = 1
),

typed as materialized (  -- computed once: the final select reads issue_items three times
    select
        btrim(usubjid) as usubjid,
        {{ norm_upper('studyid') }} as studyid,
        btrim(siteid) as siteid,
        {{ norm_upper('armcd') }} as armcd,
        nullif(btrim(armcd), '') as armcd_as_sent,
        nullif(btrim(arm), '') as arm,
        {{ raw_column_if_present('current_version', 'dm', 'subjid') }} as subjid_sent,
        {{ raw_column_if_present('current_version', 'dm', 'actarm') }} as actarm,
        {{ raw_column_if_present('current_version', 'dm', 'rfendtc') }} as rfendtc,
        {{ safe_numeric('age') }} as age,
        {{ norm_upper('sex') }} as sex,
        {{ norm_upper('race') }} as race,
        nullif(btrim(brthdtc), '') as brthdtc,
        nullif(btrim(rfstdtc), '') as rfstdtc,
        {{ iso_date('rfstdtc') }} as rfstdt,
        {{ iso_date(raw_column_if_present('current_version', 'dm', 'rfendtc')) }} as rfendt,  -- RFENDTC when sent
        nullif(btrim(dthdtc), '') as dthdtc,
        {{ iso_date('dthdtc', impute='first') }} as dthdt,
        {{ norm_upper('dthfl') }} as dthfl,
        {{ safe_numeric('doselvl') }} as doselvl,
        {{ norm_upper('cohort') }} as cohort,
        {{ issue_items([
            (iso_date_status('rfstdtc') ~ " = 'invalid'", 'rfstdtc', 'rfstdtc', 'unparseable date'),
            (iso_date_status('dthdtc') ~ " = 'invalid'", 'dthdtc', 'dthdtc', 'unparseable date'),
            ("nullif(btrim(age), '') is not null and " ~ safe_numeric('age') ~ " is null", 'age', 'age', 'non-numeric value'),
            ("nullif(btrim(doselvl), '') is not null and " ~ safe_numeric('doselvl') ~ " is null", 'doselvl', 'doselvl', 'non-numeric value'),
        ]) }} as issue_items,
        _delivery_id,
        _file,
        _line
    from current_version
)

select
    usubjid,
    coalesce(
        subjid_sent,
        case when starts_with(upper(usubjid), studyid || '-')
                then substr(usubjid, length(studyid) + 2)
            else regexp_replace(usubjid, '^.*-', '')
        end
    ) as subjid,
    studyid,
    siteid,
    armcd,
    armcd_as_sent,
    arm,
    actarm,
    age,
    sex,
    race,
    brthdtc,
    rfstdtc,
    rfstdt,
    rfendtc,
    rfendt,
    dthdtc,
    dthdt,
    dthfl,
    doselvl,
    cohort,
    -- DM rows with a bad date or number stay in (the subject exists); only the bad column is null.
    true as is_usable,
    {{ issue_text('issue_items') }} as issue,
    issue_items,
    _delivery_id,
    _file,
    _line
from typed
