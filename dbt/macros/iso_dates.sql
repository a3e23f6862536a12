{#-
  ISO 8601 (possibly partial) date handling for SDTM --DTC text columns.

  iso_date(col, impute=none):
    1. trim the text; a full date (YYYY-MM-DD, optionally followed by 'T...') whose month
       and day exist in the calendar becomes that date;
    2. a partial date (YYYY or YYYY-MM) becomes null, or, with impute='first'/'last',
       the first/last day of that year or month (ADaM start/end date imputation);
    3. anything else becomes null (never an error: see iso_date_status).
  iso_date_status(col): 'missing' | 'full' | 'partial' | 'invalid'.
-#}

{% macro _iso_full_ok(c) -%}
  ({{ c }} ~ '^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T.*)?$')
{%- endmacro %}

{% macro _iso_full_date(c) -%}
  case when {{ _iso_full_ok(c) }} then
    case when substr({{ c }}, 9, 2)::int <= extract(day from (make_date(substr({{ c }}, 1, 4)::int, substr({{ c }}, 6, 2)::int, 1) + interval '1 month' - interval '1 day'))
         then substr({{ c }}, 1, 10)::date end
  end
{%- endmacro %}

{% macro iso_date(col, impute=none) -%}
  {%- set c = "nullif(btrim(" ~ col ~ "), '')" -%}
  {%- if impute == 'first' -%}
  coalesce({{ _iso_full_date(c) }},
           case when {{ c }} ~ '^[0-9]{4}-(0[1-9]|1[0-2])$' then make_date(substr({{ c }},1,4)::int, substr({{ c }},6,2)::int, 1)
                when {{ c }} ~ '^[0-9]{4}$' then make_date({{ c }}::int, 1, 1) end)
  {%- elif impute == 'last' -%}
  coalesce({{ _iso_full_date(c) }},
           case when {{ c }} ~ '^[0-9]{4}-(0[1-9]|1[0-2])$' then (make_date(substr({{ c }},1,4)::int, substr({{ c }},6,2)::int, 1) + interval '1 month' - interval '1 day')::date
                when {{ c }} ~ '^[0-9]{4}$' then make_date({{ c }}::int, 12, 31) end)
  {%- else -%}
  {{ _iso_full_date(c) }}
  {%- endif -%}
{%- endmacro %}

{% macro iso_date_status(col) -%}
  {%- set c = "nullif(btrim(" ~ col ~ "), '')" -%}
  case when {{ c }} is null then 'missing'
       when ({{ _iso_full_date(c) }}) is not null then 'full'
       when {{ c }} ~ '^[0-9]{4}(-(0[1-9]|1[0-2]))?$' then 'partial'
       else 'invalid' end
{%- endmacro %}
