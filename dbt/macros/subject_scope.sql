{#-
  Subject-scoped incremental models (docs/architecture.md, "Incremental builds").

  A per-subject model (every row belongs to one USUBJID and is derived from that subject's
  rows alone) is built whole on a full build, a cut build (--full-refresh) or when its table
  does not exist yet. On an incremental build of the marts schema (var marts_since_file_id)
  it derives again only the subjects of build_rederive_subjects (the subjects touched
  since the schema's last build):
    1. the model reads its inputs for those subjects only (``in_rederive_scope``);
    2. strategy ``subject_replace`` deletes every row of those subjects, then inserts the rows
       derived again: a subject whose rows all went away loses them, and a subject touched by
       a correction is derived whole, never merged with its old rows;
    3. the other subjects' rows stay as the previous build left them (the double buffer:
       the candidate schema is the previous published build, publish.prepare_candidate).
  An incremental relation without the watermark (a hand-run build) deletes every row and
  derives every subject, as a full build does.
-#}

{#- Config of a subject-scoped incremental model (usubjid indexed: the delete is a lookup). -#}
{% macro subject_incremental_config(extra_indexes=[]) -%}
  {{ config(
      materialized='incremental',
      incremental_strategy='subject_replace',
      unique_key='usubjid',
      on_schema_change='fail',
      indexes=[{'columns': ['usubjid']}] + extra_indexes
  ) }}
{%- endmacro %}

{#- Whether this run derives only the subjects in scope (an incremental run with the watermark). -#}
{% macro subject_scope_active() -%}
  {{ return(is_incremental() and watermark_var('marts_since_file_id') is not none) }}
{%- endmacro %}

{#- Condition keeping the rows of the subjects in scope (``true`` when the model is built whole).
    The scope is a dependency of the model on every build (ref called unconditionally). -#}
{% macro in_rederive_scope(column='usubjid') -%}
  {%- set scope = ref('build_rederive_subjects') -%}
  {%- if subject_scope_active() -%}
    {{ column }} in (select usubjid from {{ scope }})
  {%- else -%}
    true
  {%- endif -%}
{%- endmacro %}

{#- dbt incremental strategy ``subject_replace``: delete the subjects in scope (every row when
    there is no watermark), insert the rows the model derived. -#}
{% macro get_incremental_subject_replace_sql(arg_dict) -%}
  {%- set target, source = arg_dict['target_relation'], arg_dict['temp_relation'] -%}
  {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | join(', ') -%}
  delete from {{ target }}
  {%- if subject_scope_active() %}
  where usubjid in (select usubjid from {{ ref('build_rederive_subjects') }})
  {%- endif %};
  insert into {{ target }} ({{ columns }})
  select {{ columns }} from {{ source }}
{%- endmacro %}

{#-
  Post-hook of a subject-scoped ADaM dataset whose ranks span the study (ADLB PARAMN and
  AVISITN): after an incremental build has inserted the subjects it derived again, rank
  again over the whole table and rewrite only the rows whose rank moved (a new parameter or
  visit, a median study day that moved). ``ranks``: (rank column, the ranked column, the
  study-day column whose median orders the ranked values first, or none: by value only),
  computed as the model's select computes them on a full build. Nothing runs when no
  subject was derived again (an empty scope leaves the table, and so its ranks, as the
  last build left them): the scope test is a one-time filter, evaluated before any scan.
-#}
{% macro adam_study_ranks(ranks) -%}
  {%- if subject_scope_active() -%}
    {%- for rank_column, ranked, by_day in ranks %}
    update {{ this }} as t
    set {{ rank_column }} = r.study_rank
    from (
        {%- if by_day %}
        {{ ranks_by_median_day(this, ranked, by_day) }}
        {%- else %}
        select
            {{ ranked }},
            dense_rank() over (order by {{ ranked }}) as study_rank
        from {{ this }}
        group by {{ ranked }}
        {%- endif %}
    ) as r
    where t.{{ ranked }} = r.{{ ranked }} and t.{{ rank_column }} is distinct from r.study_rank
      and exists (select 1 from {{ ref('build_rederive_subjects') }});
    {%- endfor %}
  {%- endif -%}
{%- endmacro %}
