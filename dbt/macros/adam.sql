{#- Helpers of the ADaM layer (models/adam) and the few staging columns it needs. -#}

{#-
  A raw column that only some studies send (e.g. AE.AESEQ): ``alias.column`` when the raw
  table has it, else ``null::text``. The raw layer keeps every column a feed sends
  (docs/architecture.md), so its presence is known when dbt runs.
-#}
{% macro optional_raw_column(domain, column, alias) -%}
  {%- set present = false -%}
  {%- if execute -%}
    {%- set cols = adapter.get_columns_in_relation(source('raw', domain)) | map(attribute='name') | map('lower') | list -%}
    {%- set present = column | lower in cols -%}
  {%- endif -%}
  {%- if present -%}{{ alias }}.{{ column | lower }}{%- else -%}null::text{%- endif -%}
{%- endmacro %}

{#- CDISC study day (SDTM --DY, ADaM ADY/ASTDY): date - reference + 1 on or after it, date - reference before (no day 0). -#}
{% macro adam_study_day(date_col, ref_col) -%}
  ({{ date_col }} - {{ ref_col }} + case when {{ date_col }} >= {{ ref_col }} then 1 else 0 end)
{%- endmacro %}

{#- ADaM flag from a boolean: 'Y' when true, null otherwise. -#}
{% macro adam_flag(bool_expr) -%}
  case when {{ bool_expr }} then 'Y' end
{%- endmacro %}
