{#-
  The lab records fct_lab_results derives again on an incremental build (empty otherwise).
  A table of its own so the planner has real row counts for it (as CTEs inside
  fct_lab_results the estimates ran to billions of rows and chose nested loops).
  Steps (var marts_since_file_id = the file id the marts schema is built through):
    1. changed records: staged results whose current version arrived after the watermark;
    2. re-based subjects, whose every record is derived again (their baselines may move):
       a changed record dated on or before the first dose; a first dose date different from
       the one fct_lab_results was built with (read back from its ADY, only for subjects
       with EX or DM rows since the watermark); a subject new to DM;
    3. scope = every record of a re-based subject (is_rebased) plus the changed records of
       the other subjects (their baseline is the one stored in fct_lab_results).
-#}
{%- set since = watermark_var('marts_since_file_id') %}
{%- set lab_staging, reference_dates = ref('stg_sdtm__lb'), ref('int_subject__reference_dates') %}
{%- set _raw_read = [source('raw', 'ex'), source('raw', 'dm')] %}{#- read by the incremental branch -#}
{%- set built = adapter.get_relation(database=target.database, schema=var('marts_schema'), identifier='fct_lab_results') %}
{%- if since is not none and built is not none %}
{#- base tables are read directly, not through CTEs, so the planner keeps their statistics -#}
with changed_records as (
    select lab_record_key, usubjid, lbdt from {{ lab_staging }} where _file_id > {{ since }}
),

reference_touched as (
    -- the first dose date can only move when EX or DM sent something
    select btrim(usubjid) as usubjid from {{ source('raw', 'ex') }} where _file_id > {{ since }} and {{ below_raw_watermark() }}
    union
    select btrim(usubjid) from {{ source('raw', 'dm') }} where _file_id > {{ since }} and {{ below_raw_watermark() }}
),

previous_reference as (
    -- the first dose date fct_lab_results was built with: ADY = LBDT - TRTSDT (+1 on/after it)
    select t.usubjid, max(t.lbdt - t.ady + case when t.ady > 0 then 1 else 0 end) as trtsdt
    from {{ built }} t
    join reference_touched rt using (usubjid)
    group by t.usubjid
),

rebased_subjects as (
    select rt.usubjid
    from reference_touched rt
    left join {{ reference_dates }} r using (usubjid)
    left join previous_reference p using (usubjid)
    where r.trtsdt is distinct from p.trtsdt
    union
    select c.usubjid from changed_records c join {{ reference_dates }} r using (usubjid) where c.lbdt <= r.trtsdt
    union
    ({{ subjects_new_to_dm(since) }})
)

select s.lab_record_key, s.usubjid, true as is_rebased
from {{ lab_staging }} s
where s.usubjid in (select usubjid from rebased_subjects)
union all
select c.lab_record_key, c.usubjid, false as is_rebased
from changed_records c
where not exists (select 1 from rebased_subjects r where r.usubjid = c.usubjid)
{%- else %}
    select
        null::text as lab_record_key,
        null::text as usubjid,
        null::boolean as is_rebased
    where false
{%- endif %}
