{{
  config(
    materialized='incremental',
    incremental_strategy='append',
    indexes=[{'columns': ['usubjid', 'built_through_file_id']}]
  )
}}
{#-
  Per subject, the first dose date (TRTSDT) in force at each build of this project, so an
  incremental build can tell which subjects' lab facts were derived with a date that has
  since moved (int_lab_results__rederive_scope), without reading a built mart back.
  Keyed by built_through_file_id: the raw watermark of the build (var raw_through_file_id,
  which audit.build_state records as the schemas' through_file_id); a hand-run build without
  one records the last EX or DM file it read. The value in force as of file N is the subject's
  row with the highest built_through_file_id <= N.
  Steps:
    1. the first dose date of every subject of this build (int_subject__reference_dates);
    2. first build or full refresh: record every subject;
       incremental: the latest recorded value per subject ({{ this }}); record the subjects
       whose date differs (a null date for a subject no longer in DM), and new subjects;
    3. append them, stamped with this build's watermark.
  A full refresh starts the history again; a schema built before it finds no value as of its
  own watermark, and the scope then re-bases each subject EX or DM touched (the safe side).
-#}
{%- set through = watermark_var('raw_through_file_id') %}
{%- set _raw_read = [source('raw', 'ex'), source('raw', 'dm')] %}{#- read when no watermark is set -#}
with current_dates as (
    select
        usubjid,
        trtsdt
    from {{ ref('int_subject__reference_dates') }}
),

{% if is_incremental() %}

    recorded as (
        select distinct on (h.usubjid)
            h.usubjid,
            h.trtsdt
        from {{ this }} as h
        order by h.usubjid asc, h.built_through_file_id desc
    ),

    to_record as (
        select
            usubjid,
            c.trtsdt
        from current_dates as c
        full outer join recorded as r using (usubjid)
        where r.usubjid is null or c.trtsdt is distinct from r.trtsdt
    ),
{% else %}

    to_record as (
        select
            usubjid,
            trtsdt
        from current_dates
    ),
{% endif %}

watermark as (
    {% if through is not none %}
        select {{ through | int }}::bigint as built_through_file_id
    {% else %}
        select coalesce(max(_file_id), 0)::bigint as built_through_file_id
        from (
            select _file_id from {{ source('raw', 'ex') }}
            union all
            select _file_id from {{ source('raw', 'dm') }}
        ) as read_files
    {% endif %}
)

select
    t.usubjid,
    t.trtsdt,
    w.built_through_file_id
from to_record as t
cross join watermark as w
