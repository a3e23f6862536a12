{#-
  CTCAE v5.0 lab toxicity grading, driven by the seeds ctcae_v5_terms, ctcae_v5_criteria,
  ctcae_v5_lbtestcd_map and ctcae_unit_synonyms (see dbt/seeds/ctcae_seeds.yml).

  Interface (each macro returns a SQL *expression*, to put in a select list; the seeds are
  reached through ref(), so the calling model depends on them):

    ctcae_term(direction, lbtestcd_col, lbspec_col=none)
        -> text: the CTCAE term graded for this test in direction 'L' or 'H'
           (ATOXDSCL / ATOXDSCH), or null when the test has no term in that direction.

    ctcae_grade(direction, lbtestcd_col, aval_col, avalu_col, anrlo_col, anrhi_col,
                base_col, bnrind_col, lbspec_col=none, pchg_col=none)
        -> text '0'..'4' (ATOXGRL / ATOXGRH), or null when no grade can be given.

    ctcae_grade_term(direction, term_col, aval_col, avalu_col, anrlo_col, anrhi_col,
                     base_col, bnrind_col, pchg_col=none, unit_system_col=none,
                     baseline_high_expr=none)
        -> the same, from a CTCAE term instead of a test code (matched case-insensitively).

  Arguments are SQL expressions (column names or anything else). direction is the literal
  'L' or 'H'. aval/anrlo/anrhi/base are numbers in the unit avalu; base and bnrind are the
  subject's baseline value and baseline reference-range indicator (LOW/NORMAL/HIGH).
  pchg (percent change from baseline, used by Fibrinogen decreased only) defaults to
  100 * (aval - base) / base. unit_system_col restricts the criteria to 'SI' or 'USCV'
  (null or omitted: whichever system's unit matches avalu). baseline_high_expr overrides the
  "baseline was abnormal" test, by default upper(bnrind) in var('ctcae_baseline_high_indicators').

  Caller expressions are evaluated in a FROM-less subquery before the seeds are joined, so
  input column names may collide with seed column names (term, direction, unit, ...).

  Algorithm (ctcae_grade_term), per input row:
  1. pick the term variant: same term (case-insensitive) and direction, and a unit that
     matches avalu case-insensitively, directly or through ctcae_unit_synonyms (variants with
     no unit accept any unit); none -> null (unknown term, wrong direction, wrong or
     missing unit);
  2. null aval -> null; a missing input the variant always needs (requires_input, e.g. ULN
     for the x ULN terms) -> null;
  3. a criterion fires when signif(lhs, 8) <op> signif(threshold, 8), where lhs is aval (or
     pchg) and threshold is the absolute value, or value x LLN / ULN / baseline (+ addend);
     criteria of the baseline_normal / baseline_high branch only apply on that branch; a
     criterion whose inputs are null does not fire;
  4. the grade is the highest grade among the criteria that fired;
  5. if none fired: null when the input needed to say "normal" is missing
     (grade0_requires_input, e.g. LLN for the absolute-count terms), else '0'.
-#}

{% macro ctcae_grade_term(direction, term_col, aval_col, avalu_col, anrlo_col, anrhi_col, base_col, bnrind_col, pchg_col=none, unit_system_col=none, baseline_high_expr=none) -%}
  {%- if direction not in ('L', 'H') -%}
    {{ exceptions.raise_compiler_error("ctcae_grade_term: direction must be 'L' or 'H', got " ~ direction) }}
  {%- endif -%}
  {%- set high_values = var('ctcae_baseline_high_indicators', ['HIGH']) -%}
  {%- set pchg = pchg_col if pchg_col is not none else
      "(case when (" ~ base_col ~ ")::numeric <> 0 then 100 * ((" ~ aval_col ~ ")::numeric - (" ~ base_col ~ ")::numeric) / (" ~ base_col ~ ")::numeric end)" -%}
  {%- set baseline_high = baseline_high_expr if baseline_high_expr is not none else
      "coalesce(upper(trim((" ~ bnrind_col ~ ")::text)) in (" ~ ctcae__quote_list(high_values) ~ "), false)" -%}
  (
    select
      case
        when x.aval_s is null then null
        when v.requires_input = 'anrlo' and x.anrlo is null then null
        when v.requires_input = 'anrhi' and x.anrhi is null then null
        when v.requires_input = 'base' and x.base is null then null
        when fired.grade is not null then fired.grade::text
        when v.grade0_requires_input = 'anrlo' and x.anrlo is null then null
        when v.grade0_requires_input = 'anrhi' and x.anrhi is null then null
        when v.grade0_requires_input = 'base' and x.base is null then null
        else '0'
      end
    from (
      select
        {{ ctcae_signif(aval_col) }} as aval_s,
        {{ ctcae_signif(pchg) }} as pchg_s,
        ({{ anrlo_col }})::numeric as anrlo,
        {{ ctcae_signif(anrlo_col) }} as anrlo_s,
        ({{ anrhi_col }})::numeric as anrhi,
        ({{ base_col }})::numeric as base,
        {{ baseline_high }} as baseline_high,
        upper(trim(({{ avalu_col }})::text)) as unit_u,
        upper(trim(({{ term_col }})::text)) as term_u,
        {{ unit_system_col if unit_system_col is not none else 'null' }}::text as unit_system
      offset 0
    ) as x
    join {{ ref('ctcae_v5_terms') }} as v
      on upper(v.term) = x.term_u
     and v.direction = '{{ direction }}'
     and (
          v.unit is null
          or upper(v.unit) = x.unit_u
          or exists (
              select 1
              from {{ ref('ctcae_unit_synonyms') }} as s
              where upper(s.unit_alias) = x.unit_u
                and upper(s.ctcae_unit) = upper(v.unit)
                and (s.term is null or upper(s.term) = upper(v.term))
          )
     )
     and (x.unit_system is null or v.unit_system in (x.unit_system, 'BOTH'))
    cross join lateral (
      select max(t.grade) as grade
      from (
        select
          c.grade,
          c.operator,
          case c.operand when 'pchg' then x.pchg_s else x.aval_s end as lhs,
          {{ ctcae_signif('c.threshold') }} as rhs
        from (
          select
            c.grade,
            c.operator,
            c.operand,
            case c.reference
              when 'absolute' then c.value
              when 'lln' then c.value * x.anrlo + coalesce(c.addend, 0)
              when 'uln' then c.value * x.anrhi + coalesce(c.addend, 0)
              when 'base' then c.value * x.base + coalesce(c.addend, 0)
            end as threshold
          from {{ ref('ctcae_v5_criteria') }} as c
          where c.term_variant_id = v.term_variant_id
            and (c.branch = 'any'
                 or (c.branch = 'baseline_high' and x.baseline_high)
                 or (c.branch = 'baseline_normal' and not x.baseline_high))
            and (c.requires_below_lln = 'N' or x.aval_s < x.anrlo_s)
          offset 0
        ) as c
        offset 0
      ) as t
      where case t.operator
              when '<' then t.lhs < t.rhs
              when '<=' then t.lhs <= t.rhs
              when '>' then t.lhs > t.rhs
              when '>=' then t.lhs >= t.rhs
            end
    ) as fired
    order by v.term_variant_id
    limit 1
  )
{%- endmacro %}


{% macro ctcae_term(direction, lbtestcd_col, lbspec_col=none) -%}
  {%- if direction not in ('L', 'H') -%}
    {{ exceptions.raise_compiler_error("ctcae_term: direction must be 'L' or 'H', got " ~ direction) }}
  {%- endif -%}
  {%- set blood = ctcae__quote_list(var('ctcae_blood_specimens', ['BLOOD', 'SERUM', 'PLASMA'])) -%}
  {%- set spec = "upper(trim((" ~ lbspec_col ~ ")::text))" if lbspec_col is not none else "null::text" -%}
  (
    select m.term
    from (
      select
        upper(trim(({{ lbtestcd_col }})::text)) as lbtestcd_u,
        {{ spec }} as spec_u
      offset 0
    ) as x
    join {{ ref('ctcae_v5_lbtestcd_map') }} as m
      on m.lbtestcd = x.lbtestcd_u
     and m.direction = '{{ direction }}'
     and case m.specimen_rule
           when 'blood_only' then x.spec_u in ({{ blood }})
           else x.spec_u is null or x.spec_u in ({{ blood }})
         end
    order by m.term
    limit 1
  )
{%- endmacro %}


{% macro ctcae_grade(direction, lbtestcd_col, aval_col, avalu_col, anrlo_col, anrhi_col, base_col, bnrind_col, lbspec_col=none, pchg_col=none) -%}
  {{ ctcae_grade_term(direction, ctcae_term(direction, lbtestcd_col, lbspec_col), aval_col, avalu_col,
                      anrlo_col, anrhi_col, base_col, bnrind_col, pchg_col=pchg_col) }}
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
