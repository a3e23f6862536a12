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

{#- Numeric twin of a treatment name (TRTxxPN/AN, TRTAN): var adam_treatment_numbers by the
    upper-case name; else the group letter of a myeloma arm name ('Group A: ...' 1, B 2);
    else the rank of the name among the study's arms (rank_col). -#}
{% macro adam_treatment_number(name_col, rank_col) -%}
  case when {{ name_col }} is null then null
      {%- for name, n in var('adam_treatment_numbers').items() %}
      when upper({{ name_col }}) = '{{ name | upper }}' then {{ n }}
      {%- endfor %}
      when {{ name_col }} ~* '^group a\M' then 1
      when {{ name_col }} ~* '^group b\M' then 2
      else {{ rank_col }}
  end
{%- endmacro %}
