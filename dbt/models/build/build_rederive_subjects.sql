{#-
  build_rederive_subjects: the subjects the subject-scoped incremental marts and ADaM datasets derive again
  (macros/subject_scope.sql); empty on a build without the watermark (full, cut, first build).
  Steps (var marts_since_file_id = the file id the marts schema being built is built through):
    1. every subject with a raw row, in any SDTM domain, of a file loaded after the watermark
       (and up to the build's upper watermark): a new or corrected record, a DM change, a
       subject new to DM. A late delivery of an older version changes nothing but is taken
       too (cheaper than telling);
    2. every subject in DM when no usable study-drug EX record staged before the watermark
       is left and EX sent something since: whether the study drug is present at all
       (int_exposure__doses: every record is study treatment without it) may have changed,
       and with it every subject's exposure.
  A table of its own (raw read through the BRIN index on _file_id), so the planner knows its
  row count when the models filter their inputs with it.
-#}
{%- set since = watermark_var('marts_since_file_id') %}
{%- set domains = [] %}
{%- for domain in sdtm_issue_domains() %}
    {%- do domains.append(source('raw', domain[0] | lower)) %}
{%- endfor %}
{%- set exposure, demography = ref('stg_sdtm__ex'), ref('stg_sdtm__dm') %}
{%- if since is not none %}
with touched as (
    {%- for raw in domains %}
    select btrim(usubjid) as usubjid from {{ raw }} where _file_id > {{ since }} and {{ below_raw_watermark() }}
    {{- '\n    union' if not loop.last }}
    {%- endfor %}
),

study_drug_may_have_changed as (
    select
        not exists (
            select 1 from {{ exposure }}
            where is_usable and drug = '{{ var("study_drug") }}' and _file_id <= {{ since }}
        )
        and exists (select 1 from {{ exposure }} where _file_id > {{ since }}) as everyone
)

select usubjid from touched
where usubjid is not null
union
select dm.usubjid from {{ demography }} as dm
where (select everyone from study_drug_may_have_changed)
{%- else %}
    select null::text as usubjid
    where false
{%- endif %}
