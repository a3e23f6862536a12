{#-
  CTCAE v5.0 lab toxicity grading, driven by the seeds ctcae_v5_terms, ctcae_v5_criteria,
  ctcae_v5_lbtestcd_map and ctcae_unit_synonyms (see dbt/seeds/ctcae_seeds.yml). The seeds
  are reached through ref(), so a calling model depends on them.

  Interface
  ---------
  A. Set-based (use this for tables: the 59,580 CDISC pilot rows grade in ~3 s, about 8x
     faster than B; run the model with pre_hook "set local jit = off": JIT compilation of
     this SQL costs ~15 s and gains nothing):

    ctcae_grades(relation, key_col, lbtestcd_col, aval_col, avalu_col, anrlo_col, anrhi_col,
                 base_col, bnrind_col, lbspec_col=none, pchg_col=none)
        -> a complete SELECT statement (put it in a CTE) returning one row per input row:
           ctcae_key (= key_col, must be unique), atoxdscl, atoxgrl, atoxdsch, atoxgrh.
           `relation` is a ref(), a source() or the name of an earlier CTE; the *_col
           arguments are SQL expressions over its columns.
        Example:
          graded as ({{ ctcae_grades('lab', 'lab_result_id', 'lbtestcd', 'lbstresn',
                       'lbstresu', 'lbnrlo', 'lbnrhi', 'base', 'bnrind', lbspec_col='lbspec') }})
          ... left join graded on graded.ctcae_key = lab.lab_result_id

  B. Scalar expressions (for a select list; one correlated subquery per call and row):

    ctcae_term(direction, lbtestcd_col, lbspec_col=none)
        -> text: the CTCAE term graded for this test in direction 'L' or 'H'
           (ATOXDSCL / ATOXDSCH), or null when the test has no term in that direction.
    ctcae_grade(direction, lbtestcd_col, aval_col, avalu_col, anrlo_col, anrhi_col,
                base_col, bnrind_col, lbspec_col=none, pchg_col=none)
        -> text '0'..'4' (ATOXGRL / ATOXGRH), or null when no grade can be given.
    ctcae_grade_term(direction, term_col, aval_col, avalu_col, anrlo_col, anrhi_col,
                     base_col, bnrind_col, pchg_col=none, unit_system_col=none,
                     baseline_high_expr=none)
        -> the same, from a CTCAE term (matched case-insensitively) instead of a test code.

  A and B run the same grading SQL (ctcae__grading_ctes). Arguments are SQL expressions.
  aval/anrlo/anrhi/base are numbers in the unit avalu; base and bnrind are the subject's
  baseline value and baseline reference-range indicator (LOW/NORMAL/HIGH). pchg (percent
  change from baseline, used by Fibrinogen decreased only) defaults to 100*(aval-base)/base.
  unit_system_col restricts the criteria to 'SI' or 'USCV' (omitted: whichever system's unit
  matches avalu). baseline_high_expr overrides the "baseline was abnormal" test, by default
  upper(bnrind) in var('ctcae_baseline_high_indicators'). For baseline grades
  (BTOXGRL/BTOXGRH) pass the baseline value as aval.

  Algorithm, per input row and direction:
  1. term: from ctcae_v5_lbtestcd_map by LBTESTCD and direction, if LBSPEC passes the map's
     specimen rule (B: ctcae_grade_term takes the term directly);
  2. term variant: same term (case-insensitive) and direction, and a unit that matches avalu
     case-insensitively, directly or through ctcae_unit_synonyms (variants with no unit
     accept any unit); none -> null grade (no term, wrong or missing unit);
  3. null aval -> null; a missing input the variant always needs (requires_input, e.g. ULN
     for the x ULN terms) -> null;
  4. a criterion fires when signif(lhs, 8) <op> signif(threshold, 8), where lhs is aval (or
     pchg) and threshold is the absolute value, or value x LLN / ULN / baseline (+ addend);
     baseline_normal / baseline_high criteria apply only on that branch; a criterion whose
     inputs are null does not fire;
  5. the grade is the highest grade among the criteria that fired;
  6. if none fired: null when the input needed to call the value normal is missing
     (grade0_requires_input, e.g. LLN for the absolute-count terms), else '0'.
-#}


{#- Standardized input columns (select-list fragment) shared by both interfaces. -#}
{% macro ctcae__input_columns(aval_col, avalu_col, anrlo_col, anrhi_col, base_col, bnrind_col, pchg_col=none, unit_system_col=none, baseline_high_expr=none) -%}
  {%- set high_values = var('ctcae_baseline_high_indicators', ['HIGH']) -%}
  {%- set pchg = pchg_col if pchg_col is not none else
      "(case when (" ~ base_col ~ ")::numeric <> 0 then 100 * ((" ~ aval_col ~ ")::numeric - (" ~ base_col ~ ")::numeric) / (" ~ base_col ~ ")::numeric end)" -%}
  {%- set baseline_high = baseline_high_expr if baseline_high_expr is not none else
      "coalesce(upper(trim((" ~ bnrind_col ~ ")::text)) in (" ~ ctcae__quote_list(high_values) ~ "), false)" -%}
        {{ ctcae_signif(aval_col) }} as aval_s,
        {{ ctcae_signif(pchg) }} as pchg_s,
        ({{ anrlo_col }})::numeric as anrlo,
        {{ ctcae_signif(anrlo_col) }} as anrlo_s,
        ({{ anrhi_col }})::numeric as anrhi,
        ({{ base_col }})::numeric as base,
        {{ baseline_high }} as baseline_high,
        upper(trim(({{ avalu_col }})::text)) as unit_u,
        {{ unit_system_col if unit_system_col is not none else 'null' }}::text as unit_system
{%- endmacro %}


{#-
  The grading CTEs. `inp` names a relation with columns ctcae_key, direction ('L'/'H'),
  term_u (upper-case term) and the columns of ctcae__input_columns. Defines ctcae_graded
  (ctcae_key, direction, grade): one row per input row that has a matching term variant.
-#}
{% macro ctcae__grading_ctes(inp) -%}
    ctcae_variants as (
        select distinct on (i.ctcae_key, i.direction)
            i.*,
            v.term_variant_id,
            v.requires_input,
            v.grade0_requires_input
        from {{ inp }} as i
        join {{ ref('ctcae_v5_terms') }} as v
          on upper(v.term) = i.term_u
         and v.direction = i.direction
         and (i.unit_system is null or v.unit_system in (i.unit_system, 'BOTH'))
        left join {{ ref('ctcae_unit_synonyms') }} as s
          on upper(s.unit_alias) = i.unit_u
         and upper(s.ctcae_unit) = upper(v.unit)
         and (s.term is null or upper(s.term) = upper(v.term))
        where v.unit is null or upper(v.unit) = i.unit_u or s.unit_alias is not null
        order by i.ctcae_key, i.direction, v.term_variant_id
    ),
    ctcae_thresholds as (
        select
            va.ctcae_key,
            va.direction,
            c.grade,
            c.operator,
            case c.operand when 'pchg' then va.pchg_s else va.aval_s end as lhs,
            case c.reference
                when 'absolute' then c.value
                when 'lln' then c.value * va.anrlo + coalesce(c.addend, 0)
                when 'uln' then c.value * va.anrhi + coalesce(c.addend, 0)
                when 'base' then c.value * va.base + coalesce(c.addend, 0)
            end as threshold
        from ctcae_variants as va
        join {{ ref('ctcae_v5_criteria') }} as c
          on c.term_variant_id = va.term_variant_id
         and (c.branch = 'any'
              or (c.branch = 'baseline_high' and va.baseline_high)
              or (c.branch = 'baseline_normal' and not va.baseline_high))
         and (c.requires_below_lln = 'N' or va.aval_s < va.anrlo_s)
    ),
    ctcae_fired as (
        select t.ctcae_key, t.direction, max(t.grade) as grade
        from (
            select thr.*, {{ ctcae_signif('thr.threshold') }} as rhs
            from ctcae_thresholds as thr
        ) as t
        where case t.operator
                when '<' then t.lhs < t.rhs
                when '<=' then t.lhs <= t.rhs
                when '>' then t.lhs > t.rhs
                when '>=' then t.lhs >= t.rhs
              end
        group by t.ctcae_key, t.direction
    ),
    ctcae_graded as (
        select
            va.ctcae_key,
            va.direction,
            case
                when va.aval_s is null then null
                when va.requires_input = 'anrlo' and va.anrlo is null then null
                when va.requires_input = 'anrhi' and va.anrhi is null then null
                when va.requires_input = 'base' and va.base is null then null
                when f.grade is not null then f.grade::text
                when va.grade0_requires_input = 'anrlo' and va.anrlo is null then null
                when va.grade0_requires_input = 'anrhi' and va.anrhi is null then null
                when va.grade0_requires_input = 'base' and va.base is null then null
                else '0'
            end as grade
        from ctcae_variants as va
        left join ctcae_fired as f
          on f.ctcae_key = va.ctcae_key
         and f.direction = va.direction
    )
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


{% macro ctcae_grades(relation, key_col, lbtestcd_col, aval_col, avalu_col, anrlo_col, anrhi_col, base_col, bnrind_col, lbspec_col=none, pchg_col=none) -%}
    with
    ctcae_rows as (
        select
            ({{ key_col }}) as ctcae_key,
            upper(trim(({{ lbtestcd_col }})::text)) as lbtestcd_u,
            {{ "upper(trim((" ~ lbspec_col ~ ")::text))" if lbspec_col is not none else "null::text" }} as spec_u,
            {{ ctcae__input_columns(aval_col, avalu_col, anrlo_col, anrhi_col, base_col, bnrind_col, pchg_col=pchg_col) }}
        from {{ relation }}
    ),
    ctcae_input as (
        select r.*, m.direction, upper(m.term) as term_u, m.term
        from ctcae_rows as r
        join {{ ref('ctcae_v5_lbtestcd_map') }} as m
          on {{ ctcae__map_condition('r.lbtestcd_u', 'r.spec_u') }}
    ),
    {{ ctcae__grading_ctes('ctcae_input') }}
    select
        r.ctcae_key,
        max(i.term) filter (where i.direction = 'L') as atoxdscl,
        max(g.grade) filter (where g.direction = 'L') as atoxgrl,
        max(i.term) filter (where i.direction = 'H') as atoxdsch,
        max(g.grade) filter (where g.direction = 'H') as atoxgrh
    from ctcae_rows as r
    left join ctcae_input as i
      on i.ctcae_key = r.ctcae_key
    left join ctcae_graded as g
      on g.ctcae_key = i.ctcae_key
     and g.direction = i.direction
    group by r.ctcae_key
{%- endmacro %}


{% macro ctcae_grade_term(direction, term_col, aval_col, avalu_col, anrlo_col, anrhi_col, base_col, bnrind_col, pchg_col=none, unit_system_col=none, baseline_high_expr=none) -%}
  {%- if direction not in ('L', 'H') -%}
    {{ exceptions.raise_compiler_error("ctcae_grade_term: direction must be 'L' or 'H', got " ~ direction) }}
  {%- endif -%}
  (
    with
    ctcae_input as (
        select
            1 as ctcae_key,
            '{{ direction }}'::text as direction,
            upper(trim(({{ term_col }})::text)) as term_u,
            {{ ctcae__input_columns(aval_col, avalu_col, anrlo_col, anrhi_col, base_col, bnrind_col,
                                    pchg_col=pchg_col, unit_system_col=unit_system_col,
                                    baseline_high_expr=baseline_high_expr) }}
    ),
    {{ ctcae__grading_ctes('ctcae_input') }}
    select grade from ctcae_graded
  )
{%- endmacro %}


{% macro ctcae_term(direction, lbtestcd_col, lbspec_col=none) -%}
  {%- if direction not in ('L', 'H') -%}
    {{ exceptions.raise_compiler_error("ctcae_term: direction must be 'L' or 'H', got " ~ direction) }}
  {%- endif -%}
  (
    select m.term
    from (
      select
        upper(trim(({{ lbtestcd_col }})::text)) as lbtestcd_u,
        {{ "upper(trim((" ~ lbspec_col ~ ")::text))" if lbspec_col is not none else "null::text" }} as spec_u
      offset 0
    ) as x
    join {{ ref('ctcae_v5_lbtestcd_map') }} as m
      on m.direction = '{{ direction }}'
     and {{ ctcae__map_condition('x.lbtestcd_u', 'x.spec_u') }}
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
