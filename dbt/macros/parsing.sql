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

{#- Latest version per natural key: order by delivery then line, newest first. -#}
{% macro latest_version_rank(key_cols) -%}
  row_number() over (partition by {{ key_cols | join(', ') }} order by _delivery_id desc, _line desc)
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

{#- The readable issue text of an issue_items array (the subquery only runs for rows with issues). -#}
{% macro issue_text(items_col) -%}
  case when jsonb_array_length({{ items_col }}) > 0 then
  (select string_agg((i->>'issue') || ' (' || (i->>'column') || '=' || coalesce(i->>'value', 'null') || ')', '; ') from jsonb_array_elements({{ items_col }}) i) end
{%- endmacro %}
