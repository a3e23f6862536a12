{#-
  The lab records fct_lab_results derives again on an incremental build (empty otherwise).
  A table of its own so the planner has real row counts for it (as CTEs inside
  fct_lab_results the estimates ran to billions of rows and chose nested loops).
  Steps (var marts_since_file_id = the file id the marts schema is built through):
    1. changed records: staged results whose current version arrived after the watermark;
    2. re-based subjects, whose every record is derived again (their baselines may move):
       a changed record dated on or before the first dose; a first dose date different from
       the one fct_lab_results was built with, only for subjects with EX or DM rows since the
       watermark: the value int_lab_results__first_dose_history recorded as of the build
       through the watermark (no value recorded then, as after a full refresh: re-based, the
       safe side); a subject new to DM;
    3. scope = every record of a re-based subject (is_rebased) plus the changed records of
       the other subjects (their baseline is the one stored in fct_lab_results).
-#}
{%- set since = watermark_var('marts_since_file_id') %}
{%- set lab_staging, reference_dates = ref('stg_sdtm__lb'), ref('int_subject__reference_dates') %}
{%- set first_dose_history = ref('int_lab_results__first_dose_history') %}
{%- set _raw_read = [source('raw', 'ex'), source('raw', 'dm')] %}{#- read by the incremental branch -#}
{%- if since is not none %}
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
    -- the first dose date fct_lab_results was built with: the one in force at the build
    -- through the watermark (the subject's latest value recorded up to it)
    select distinct on (h.usubjid) h.usubjid, h.trtsdt
    from {{ first_dose_history }} h
    join reference_touched rt using (usubjid)
    where h.built_through_file_id <= {{ since }}
    order by h.usubjid, h.built_through_file_id desc
),

rebased_subjects as (
    select rt.usubjid
    from reference_touched rt
    left join {{ reference_dates }} r using (usubjid)
    left join previous_reference p using (usubjid)
    where p.usubjid is null or r.trtsdt is distinct from p.trtsdt
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
