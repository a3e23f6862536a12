{#- GENERATED from src/cfz_platform/contract/current_version.py by
    `uv run python -m cfz_platform.contract.dbt_macros`: do not edit by hand. -#}

{#- Loaded files that a newer loaded file of the same path and delivery supersedes whole (feeds.md: a file re-sent under its delivery id): their rows stay in raw but no longer count. With var raw_through_file_id, only a re-send at or below it. -#}
{% macro superseded_files() -%}
  {%- set upper = watermark_var('raw_through_file_id') -%}
  select old.file_id from {{ source('audit', 'ingest_files') }} old where old.status = 'loaded' and exists (select 1 from {{ source('audit', 'ingest_files') }} newer where newer.status = 'loaded' and newer.delivery_id = old.delivery_id and newer.rel_path = old.rel_path and newer.file_id > old.file_id{% if upper is not none %} and newer.file_id <= {{ upper | int }}{% endif %})
{%- endmacro %}

{#- A qualifier value for the key: trimmed, upper-case, an integral number without '.0', empty -> null. -#}
{% macro norm_qualifier(col) -%}
  nullif(regexp_replace(upper(btrim({{ col }})), '^([0-9]+)\.0+$', '\1'), '')
{%- endmacro %}

{#- md5 of the extended natural key: the business key (a null part as '<null>'), then '|name=value' per non-empty qualifier (an empty or absent one adds nothing, so a record keeps its key when a qualifier column first appears in raw). -#}
{% macro extended_natural_key(key_cols, qualifiers, alias) -%}
  md5(concat_ws('|', {% for c in key_cols %}{{ ", " if not loop.first }}coalesce({{ c }}, '<null>'){% endfor %}){% for q in qualifiers %} || coalesce('|{{ q }}=' || {{ norm_qualifier(alias ~ '.' ~ q) }}, ''){% endfor %})
{%- endmacro %}

{#- Version order, newest first: the newest delivery, then the newest file. -#}
{% macro version_order(alias=none) -%}
  {%- set p = alias ~ '.' if alias else '' -%}
  {{ p }}_delivery_id desc, {{ p }}_file_id desc nulls last
{%- endmacro %}
