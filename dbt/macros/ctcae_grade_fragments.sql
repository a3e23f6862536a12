{#-
  Fragments shared by the CTCAE grading interfaces of ctcae_grade.sql (read that file's
  header first). `row` names a relation with the columns of ctcae__input_columns; `crit` a
  row of ctcae__criteria_cte (a ctcae_v5_criteria row with absolute_rhs).
-#}


{#- Standardized input columns (select-list fragment) shared by both interfaces. -#}
{% macro ctcae__input_columns(aval_col, avalu_col, anrlo_col, anrhi_col, base_col, bnrind_col, pchg_col=none, unit_system_col=none, baseline_high_expr=none) -%}
  {%- set high_values = var('ctcae_baseline_high_indicators', ['HIGH']) -%}
  {%- set pchg = pchg_col if pchg_col is not none else
      "(case when (" ~ base_col ~ ")::numeric <> 0 then 100 * ((" ~ aval_col ~ ")::numeric - (" ~ base_col ~ ")::numeric) / (" ~ base_col ~ ")::numeric end)" -%}
  {%- set baseline_high = baseline_high_expr if baseline_high_expr is not none else
      "coalesce(upper(trim((" ~ bnrind_col ~ ")::text)) in (" ~ ctcae__quote_list(high_values) ~ "), false)" -%}
        {{ ctcae_signif(aval_col) }} as aval_s,
        ({{ pchg }})::numeric as pchg,
        ({{ anrlo_col }})::numeric as anrlo,
        ({{ anrhi_col }})::numeric as anrhi,
        ({{ base_col }})::numeric as base,
        {{ baseline_high }} as baseline_high,
        upper(trim(({{ avalu_col }})::text)) as unit_u,
        {{ unit_system_col if unit_system_col is not none else 'null' }}::text as unit_system
{%- endmacro %}


{#- Criteria, with signif(threshold) of the absolute ones computed once per criterion. -#}
{% macro ctcae__criteria_cte() -%}
    ctcae_criteria as (
        select
            c.*,
            case when c.reference = 'absolute' then {{ ctcae_signif('c.value') }} end as absolute_rhs
        from {{ ref('ctcae_v5_criteria') }} as c
    )
{%- endmacro %}


{#- The term variants of a term, direction and unit (joins and filter; variant v). -#}
{% macro ctcae__variant_match(term_u, direction, unit_u, unit_system) -%}
        join {{ ref('ctcae_v5_terms') }} as v
          on upper(v.term) = {{ term_u }}
         and v.direction = {{ direction }}
         and ({{ unit_system }} is null or v.unit_system in ({{ unit_system }}, 'BOTH'))
        left join {{ ref('ctcae_unit_synonyms') }} as s
          on upper(s.unit_alias) = {{ unit_u }}
         and upper(s.ctcae_unit) = upper(v.unit)
         and (s.term is null or upper(s.term) = upper(v.term))
        where v.unit is null or upper(v.unit) = {{ unit_u }} or s.unit_alias is not null
{%- endmacro %}


{#- Whether criterion `crit` applies to `row` (its baseline branch; below-LLN requirement);
    anrlo_s is signif(LLN), by default computed here. -#}
{% macro ctcae__criterion_applies(row, crit, anrlo_s=none) -%}
    ({{ crit }}.branch = 'any'
     or ({{ crit }}.branch = 'baseline_high' and {{ row }}.baseline_high)
     or ({{ crit }}.branch = 'baseline_normal' and not {{ row }}.baseline_high))
    and ({{ crit }}.requires_below_lln = 'N'
         or {{ row }}.aval_s < {{ anrlo_s if anrlo_s is not none else ctcae_signif(row ~ '.anrlo') }})
{%- endmacro %}


{#- The threshold of criterion `crit` (reference lln, uln or base) from the row's LLN, ULN and
    baseline expressions; null for an absolute criterion (see absolute_rhs). -#}
{% macro ctcae__relative_threshold(crit, anrlo, anrhi, base) -%}
    (case {{ crit }}.reference
        when 'lln' then {{ crit }}.value * {{ anrlo }} + coalesce({{ crit }}.addend, 0)
        when 'uln' then {{ crit }}.value * {{ anrhi }} + coalesce({{ crit }}.addend, 0)
        when 'base' then {{ crit }}.value * {{ base }} + coalesce({{ crit }}.addend, 0)
    end)
{%- endmacro %}


{#- Whether criterion `crit` fires for `row`: signif(lhs, 8) <op> rhs, rhs = signif(threshold, 8),
    by default computed here from the row. -#}
{% macro ctcae__criterion_fires(row, crit, rhs=none) -%}
  {%- set lhs = "(case " ~ crit ~ ".operand when 'pchg' then " ~ ctcae_signif(row ~ '.pchg') ~ " else " ~ row ~ ".aval_s end)" -%}
  {%- if rhs is none -%}
    {%- set rhs = "coalesce(" ~ crit ~ ".absolute_rhs, "
        ~ ctcae_signif(ctcae__relative_threshold(crit, row ~ '.anrlo', row ~ '.anrhi', row ~ '.base')) ~ ")" -%}
  {%- endif -%}
    case {{ crit }}.operator
        when '<' then {{ lhs }} < {{ rhs }}
        when '<=' then {{ lhs }} <= {{ rhs }}
        when '>' then {{ lhs }} > {{ rhs }}
        when '>=' then {{ lhs }} >= {{ rhs }}
    end
{%- endmacro %}


{#- The grade of `row` in a direction with a term variant (steps 3, 5, 6), from the highest
    grade that fired (null: none) and the variant's requires_input / grade0_requires_input. -#}
{% macro ctcae__grade_case(row, fired_grade, requires_input, grade0_requires_input) -%}
    case
        when {{ row }}.aval_s is null then null
        when {{ requires_input }} = 'anrlo' and {{ row }}.anrlo is null then null
        when {{ requires_input }} = 'anrhi' and {{ row }}.anrhi is null then null
        when {{ requires_input }} = 'base' and {{ row }}.base is null then null
        when {{ fired_grade }} is not null then ({{ fired_grade }})::text
        when {{ grade0_requires_input }} = 'anrlo' and {{ row }}.anrlo is null then null
        when {{ grade0_requires_input }} = 'anrhi' and {{ row }}.anrhi is null then null
        when {{ grade0_requires_input }} = 'base' and {{ row }}.base is null then null
        else '0'
    end
{%- endmacro %}


{#- Join condition of ctcae_v5_lbtestcd_map `m` with upper-cased lbtestcd / lbspec expressions. -#}
{% macro ctcae__map_condition(lbtestcd_u, spec_u) -%}
  {%- set blood = ctcae__quote_list(var('ctcae_blood_specimens', ['BLOOD', 'SERUM', 'PLASMA'])) -%}
  m.lbtestcd = {{ lbtestcd_u }}
  and case m.specimen_rule
        when 'blood_only' then {{ spec_u }} in ({{ blood }})
        else {{ spec_u }} is null or {{ spec_u }} in ({{ blood }})
      end
{%- endmacro %}


{#-
  Null-safe equality of `a` and `b` on the text columns `texts` and numeric columns
  `numbers`, written so that it hashes (is not distinct from does not): per column, the null
  flag and the coalesced value.
-#}
{% macro ctcae__same_key(a, b, texts, numbers=[]) -%}
  {%- for c in texts %}
    {{ "and " if not loop.first }}(({{ a }}.{{ c }} is null) = ({{ b }}.{{ c }} is null))
    and coalesce({{ a }}.{{ c }}, '') = coalesce({{ b }}.{{ c }}, '')
  {%- endfor %}
  {%- for c in numbers %}
    and (({{ a }}.{{ c }} is null) = ({{ b }}.{{ c }} is null))
    and coalesce({{ a }}.{{ c }}, 0) = coalesce({{ b }}.{{ c }}, 0)
  {%- endfor %}
{%- endmacro %}


{#- 'A', 'B' from a list of plain words; rejects anything but letters, digits, spaces and / - _ -#}
{% macro ctcae__quote_list(values) -%}
  {%- for v in values -%}
    {%- if not modules.re.match('^[A-Za-z0-9 /_-]+$', v) -%}
      {{ exceptions.raise_compiler_error("ctcae: unexpected character in configured value " ~ v) }}
    {%- endif -%}
    '{{ v | upper }}'{{ ", " if not loop.last }}
  {%- endfor -%}
{%- endmacro %}
