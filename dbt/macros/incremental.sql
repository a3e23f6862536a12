{#-
  Incremental nightly builds (docs/architecture.md, "Incremental builds").

  The pipeline (cfz_platform.transform.build_state) passes two vars when the warehouse's
  build state allows an incremental build:
    staging_since_file_id  the audit.ingest_files.file_id the staging schema is built through;
    marts_since_file_id    the same for the marts schema being built (the candidate).
  raw is append-only and file_id grows with every loaded file, so "rows with _file_id > N"
  are exactly the rows that arrived since that build. Without the vars (first build, a
  changed model, macro or seed, --full-refresh) every model derives its whole set.

  Upper watermark (every build, full or incremental): raw_through_file_id, the highest file
  id whose rows the raw gate checked (fixed before the gate). Every read of raw goes through
  raw_rows / below_raw_watermark, so a file loaded while the build runs waits for the next
  build and its gate. Without the var (a hand-run `dbt build`) raw is read whole.
-#}

{#- Condition keeping only raw rows the gate checked (``true`` when no upper watermark is set). -#}
{#- An analysis cut (macros/analysis_cut.sql) also stops at its last delivery. -#}
{% macro below_raw_watermark(alias=none) -%}
  {%- set upper = watermark_var('raw_through_file_id') -%}
  {%- if upper is none -%}
    {{ within_cut_deliveries(alias) }}
  {%- else -%}
    {{ alias ~ '.' if alias else '' }}_file_id <= {{ upper | int }} and {{ within_cut_deliveries(alias) }}
  {%- endif -%}
{%- endmacro %}

{#- Every row of raw.<domain> up to the upper watermark (as an analysis cut sees it, in a cut). -#}
{% macro raw_rows(domain) -%}
  {{ cut_rows(domain, below_raw_watermark()) }}
{%- endmacro %}

{#- The watermark var for this model, or none when this run must derive everything. -#}
{% macro incremental_since(var_name) -%}
  {%- if is_incremental() and watermark_var(var_name) is not none -%}
    {{ return(watermark_var(var_name) | int) }}
  {%- endif -%}
  {{ return(none) }}
{%- endmacro %}

{#-
  A watermark (staging_since_file_id, marts_since_file_id, raw_through_file_id): the pipeline passes it in the
  environment (CFZ_DBT_<NAME>, see transform/dbt_runner.py), not as a --vars var: a var that
  changes every night made dbt re-parse the whole project on every incremental build. A --vars
  var of the same name still wins (cfz dbt by hand).
  It is read at execution only (``execute``): dbt re-parses every file that read a changed
  environment variable at parse time, which took the seven staging models and the lab scope
  model, 3-6 s of every nightly. Parsing needs no watermark: the SQL it renders only records
  refs and sources, and the models name the sources their incremental branch reads outside it.
-#}
{% macro watermark_var(var_name) -%}
  {%- if not execute -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set value = env_var('CFZ_DBT_' ~ (var_name | upper), '') -%}
  {{ return(var(var_name, value | int if value else none)) }}
{%- endmacro %}

{#- Hash of a natural key (nulls kept distinct from empty strings): the delete+insert key. -#}
{% macro natural_key(key_cols) -%}
  md5(concat_ws('|'{%- for c in key_cols %}, coalesce({{ c }}, '<null>'){% endfor %}))
{%- endmacro %}

{#-
  The rows a staging model reads from raw.<domain>.
  Full build: all of them. Incremental build (staging_since_file_id):
    1. the rows that arrived since the staging build (a BRIN index on _file_id finds them);
    2. plus every row of a subject new to DM since then (the "subject not in DM" check flips
       for all of that subject's records);
  The model ranks these as usual; ``unless_staged_is_newer`` then drops a winner whose key is
  already staged from a later version (a late delivery of an older version), so the staged
  row stays. The older raw versions of a changed key are never needed: the staged row holds
  the best of them.
-#}
{% macro incremental_source(domain) -%}
  {%- set raw = source('raw', domain) -%}
  {%- set _dm = source('raw', 'dm') -%}{#- read by the incremental branch (new subjects) -#}
  {%- set since = incremental_since('staging_since_file_id') -%}
  {%- if since is none -%}
    {{ raw_rows(domain) }}
  {%- else -%}
    select * from {{ raw }} where _file_id > {{ since }} and {{ below_raw_watermark() }}
    union all
    select r.* from {{ raw }} r
    join ({{ subjects_new_to_dm(since, 'upper(btrim(usubjid))') }}) as new_to_dm (subject)
      on new_to_dm.subject = upper(btrim(r.usubjid))
    where r._file_id <= {{ since }}
  {%- endif -%}
{%- endmacro %}

{#- Incremental build only: keep a ranked winner unless staging holds a later version of its key. -#}
{% macro unless_staged_is_newer(alias) -%}
  {%- if incremental_since('staging_since_file_id') is not none %}
      and not exists (
          select 1 from {{ this }} staged
          where staged._natural_key = {{ alias }}._natural_key
            and (staged._delivery_id, staged._file_id) > ({{ alias }}._delivery_id, {{ alias }}._file_id))
  {%- endif -%}
{%- endmacro %}

{#-
  Subjects whose first DM record arrived after the watermark: until then every other record
  of theirs was flagged "subject not in DM" (the only way staging depends on DM). A DM update
  of a known subject changes no other domain's staging.
-#}
{% macro subjects_new_to_dm(since, subject_expr='btrim(usubjid)') -%}
  {%- set dm = source('raw', 'dm') -%}
  select {{ subject_expr }} from {{ dm }} where _file_id > {{ since }} and {{ below_raw_watermark() }}
  except
  select {{ subject_expr }} from {{ dm }} where _file_id <= {{ since }}
{%- endmacro %}

{#- Config shared by the incremental staging models: delete+insert on the natural key (an
    index makes the delete a lookup; not unique: rows identical in their extended natural key
    are all kept, macros/parsing.sql current_versions). -#}
{% macro staging_incremental_config(extra_indexes=[]) -%}
  {{ config(
      materialized='incremental',
      unique_key='_natural_key',
      incremental_strategy='delete+insert',
      indexes=[{'columns': ['_natural_key']}] + extra_indexes
  ) }}
{%- endmacro %}

{#-
  fct_lab_results post-hook: rows whose staged record is no longer usable leave the table.
  Incremental run: only records changed since the watermark can have become unusable.
  Otherwise (first build, or an incremental build without a watermark): every row without a
  usable staged record goes (on a fresh build that deletes nothing).
-#}
{% macro fct_lab_results_drop_unusable() -%}
  {%- set staged = ref('stg_sdtm__lb') -%}
  {%- set since = incremental_since('marts_since_file_id') -%}
  {%- if since is not none -%}
    delete from {{ this }} t using {{ staged }} s
    where s.lab_record_key = t.lab_record_key
      and s._file_id > {{ since }}
      and not (s.is_usable and s.lbdt is not null)
  {%- else -%}
    delete from {{ this }} t
    where not exists (select 1 from {{ staged }} s
                      where s.lab_record_key = t.lab_record_key and s.is_usable and s.lbdt is not null)
  {%- endif -%}
{%- endmacro %}
