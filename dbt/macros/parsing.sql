{#- Safe text -> number parsing and small normalizers used by staging. -#}

{#- A plain decimal number (optional sign, decimals, exponent) becomes numeric; anything else null. -#}
{% macro safe_numeric(col) -%}
  case when btrim({{ col }}) ~ '^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$' then btrim({{ col }})::numeric end
{%- endmacro %}

{#- Normalized text key: trimmed, upper-case, empty -> null. -#}
{% macro norm_upper(col) -%}
  nullif(upper(btrim({{ col }})), '')
{%- endmacro %}

{#- Unit spelling normalized for lookups: lower-case, no spaces, micro sign -> u, blank -> '(blank)'. -#}
{% macro norm_unit(col) -%}
  coalesce(nullif(replace(replace(replace(lower(btrim({{ col }})), ' ', ''), 'µ', 'u'), 'μ', 'u'), ''), '(blank)')
{%- endmacro %}

{#- Cycle number from an SDTM VISIT label like 'C3D8', 'CYCLE 3 DAY 8' (null when absent). -#}
{% macro visit_cycle(col) -%}
  (regexp_match(upper(coalesce({{ col }}, '')), '^\s*C(?:YCLE)?\s*([0-9]+)\s*,?\s*D(?:AY)?\s*([0-9]+)'))[1]::int
{%- endmacro %}

{% macro visit_day(col) -%}
  (regexp_match(upper(coalesce({{ col }}, '')), '^\s*C(?:YCLE)?\s*([0-9]+)\s*,?\s*D(?:AY)?\s*([0-9]+)'))[2]::int
{%- endmacro %}

{#-
  Latest version of a subject's record (DM: one row per subject): the newest delivery, then
  the newest file of that delivery (a file re-sent under its delivery id has a higher file id;
  version_order, generated in macros/current_version.sql), then the last line.
-#}
{% macro latest_version_rank(key_cols) -%}
  row_number() over (partition by {{ key_cols | join(', ') }} order by {{ version_order() }}, _line desc)
{%- endmacro %}

{#-
  The qualifier columns of raw.<domain> that extend its natural key: <domain>TPTNUM, TPT, POS,
  LOC, SPEC, SEQ, in that order, only those the raw table has (a column arrives with the first
  file that carries it) and not already in the business key (``exclude``, e.g. LBSPEC).
-#}
{% macro key_qualifiers(domain, exclude=[]) -%}
  {%- set found = [] -%}
  {%- if execute -%}
    {%- set names = [] -%}
    {%- for col in adapter.get_columns_in_relation(source('raw', domain)) -%}
      {%- do names.append(col.name | lower) -%}
    {%- endfor -%}
    {%- for suffix in key_qualifier_suffixes() -%}
      {%- set name = domain ~ suffix -%}
      {%- if name in names and name not in exclude -%}
        {%- do found.append(name) -%}
      {%- endif -%}
    {%- endfor -%}
  {%- endif -%}
  {{ return(found) }}
{%- endmacro %}

{#-
  The current records of a domain, from ``source_cte`` (its raw rows, see incremental_source).
  The rule's pieces (superseded_files, extended_natural_key, version_order) are generated into
  macros/current_version.sql from src/cfz_platform/contract/current_version.py, the one
  definition the raw gate's SQL is built from too.
  Steps:
    1. drop the rows of superseded files (superseded_files);
    2. key each row by its extended natural key (key_cols + key_qualifiers) as _natural_key;
    3. rank the versions of a key by delivery, then file, newest first; keep every row of the
       newest file holding the key: rows identical in their extended key are all kept (the raw
       gate lists them as a warning) and key_ordinal (1, 2, ... by line) tells them apart
       (numbered in the ranking's own order, so both windows share one sort: the kept rows
       come first in it, and among them the numbering is by line);
    4. on an incremental build, drop a winner whose key staging holds from a later version.
-#}
{% macro current_versions(source_cte, domain, key_cols, exclude_qualifiers=[]) -%}
    select * from (
        select keyed.*,
            rank() over (partition by keyed._natural_key
                         order by {{ version_order('keyed') }}) as version_rank,
            row_number() over (partition by keyed._natural_key
                               order by {{ version_order('keyed') }}, keyed._line) as key_ordinal
        from (
            select src.*, {{ extended_natural_key(key_cols, key_qualifiers(domain, exclude_qualifiers), 'src') }} as _natural_key
            from {{ source_cte }} src
            where not exists (select 1 from ({{ superseded_files() }}) sup where sup.file_id = src._file_id)
        ) keyed
    ) ranked
    where version_rank = 1{{ unless_staged_is_newer('ranked') }}
{%- endmacro %}

{#- A unique id of a staged record: its _natural_key, with '#n' for the n-th row identical in it. -#}
{% macro record_key(alias) -%}
  case when {{ alias }}.key_ordinal = 1 then {{ alias }}._natural_key
       else md5({{ alias }}._natural_key || '#' || {{ alias }}.key_ordinal) end
{%- endmacro %}

{#-
  Collect semantic problems of a row as a jsonb array of {column, value, issue}.
  checks: list of (condition_sql, column_name, value_sql, issue_text).
  Steps: build one object per failing check, drop the nulls (array_remove: a jsonpath
  filter per row cost more than the rest of the row).
-#}
{% macro issue_items(checks) -%}
  to_jsonb(array_remove(array[
  {%- for cond, colname, value_sql, issue in checks %}
    case when {{ cond }} then jsonb_build_object('column', '{{ colname }}', 'value', ({{ value_sql }})::text, 'issue', '{{ issue }}') end{{ "," if not loop.last }}
  {%- endfor %}
  ]::jsonb[], null))
{%- endmacro %}

{#- True when any of the issue_items checks fires (a check whose condition is null does not). -#}
{% macro issue_any(checks) -%}
  ({%- for cond, colname, value_sql, issue in checks %}coalesce({{ cond }}, false){{ " or " if not loop.last }}{% endfor -%})
{%- endmacro %}

{#-
  The readable issue text of the issue_items checks, built from the checks themselves: the
  same text as issue_text(issue_items(checks)) ('issue (column=value)', '; '-separated, in
  the checks' order; null when none fires), without reading the jsonb array back.
-#}
{% macro issue_text_of(checks) -%}
  nullif(concat_ws('; '
  {%- for cond, colname, value_sql, issue in checks %},
    case when {{ cond }} then '{{ issue }} ({{ colname }}=' || coalesce(({{ value_sql }})::text, 'null') || ')' end
  {%- endfor %}), '')
{%- endmacro %}

{#- The readable issue text of an issue_items array (the subquery only runs for rows with issues). -#}
{% macro issue_text(items_col) -%}
  case when jsonb_array_length({{ items_col }}) > 0 then
  (select string_agg((i->>'issue') || ' (' || (i->>'column') || '=' || coalesce(i->>'value', 'null') || ')', '; ') from jsonb_array_elements({{ items_col }}) i) end
{%- endmacro %}

{#- A column of raw.<domain> that only some feeds send (e.g. AESEQ, VSPOS): its trimmed text, or null when no file carried it yet. -#}
{% macro raw_column_if_present(alias, domain, col) -%}
  {%- set present = [] -%}
  {%- if execute -%}
    {%- for c in adapter.get_columns_in_relation(source('raw', domain)) if (c.name | lower) == col -%}
      {%- do present.append(c.name) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if present -%}nullif(btrim({{ alias }}.{{ col }}), ''){%- else -%}null::text{%- endif -%}
{%- endmacro %}

{#- The limit of a below-limit result ('<0.2' -> '0.2'), read only where the text holds '<' -#}
{%- macro below_limit_text(column) -%}
case when strpos({{ column }}, '<') > 0 then substring({{ column }} from '^\s*<\s*(\S+)\s*$') end
{%- endmacro -%}
