{#- Helpers of the ADaM layer (models/adam). A raw column only some studies send (AE.AESEQ,
    DM.RFENDTC) is read with raw_column_if_present (macros/parsing.sql). -#}

{#- CDISC study day (SDTM --DY, ADaM ADY/ASTDY): date - reference + 1 on or after it, date - reference before (no day 0). -#}
{% macro adam_study_day(date_col, ref_col) -%}
  ({{ date_col }} - {{ ref_col }} + case when {{ date_col }} >= {{ ref_col }} then 1 else 0 end)
{%- endmacro %}

{#- ADaM flag from a boolean: 'Y' when true, null otherwise. -#}
{% macro adam_flag(bool_expr) -%}
  case when {{ bool_expr }} then 'Y' end
{%- endmacro %}
