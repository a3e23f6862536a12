{#-
  CTCAE v5.0 lab toxicity grading, driven by the seeds ctcae_v5_terms, ctcae_v5_criteria,
  ctcae_v5_lbtestcd_map and ctcae_unit_synonyms (see dbt/seeds/ctcae_seeds.yml). The seeds
  are reached through ref(), so a calling model depends on them.

  Interface
  ---------
  A. Set-based (use this for tables; B runs a correlated subquery per call and row. Run the
     model with pre_hook "set local jit = off": JIT compilation of this SQL costs ~15 s and
     gains nothing). Term and variant are looked up once per distinct (test, specimen,
     unit), so the cost per row is one signif and a hash join with the criteria:

    ctcae_grades(relation, key_col, lbtestcd_col, aval_col, avalu_col, anrlo_col, anrhi_col,
                 base_col, bnrind_col, lbspec_col=none, pchg_col=none)
        -> a complete SELECT statement (put it in a CTE) returning one row per input row:
           ctcae_key (= key_col, must be unique and not null), atoxdscl, atoxgrl, atoxdsch, atoxgrh.
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

  A and B share the grading fragments of ctcae_grade_fragments.sql (criteria, variant match,
  criterion applies / fires, grade case); B wraps them in ctcae__grading_ctes, A in its
  per-combination lookup. Arguments are SQL expressions.
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


{#-
  The grading CTEs of the scalar interface (B). `inp` names a relation with columns ctcae_key,
  direction ('L'/'H'), term_u (upper-case term) and the columns of ctcae__input_columns.
  Defines ctcae_graded (ctcae_key, direction, grade): one row per input row that has a
  matching term variant.
-#}
{% macro ctcae__grading_ctes(inp) -%}
    {{ ctcae__criteria_cte() }},
    ctcae_variants as (
        select distinct on (i.ctcae_key, i.direction)
            i.*,
            v.term_variant_id,
            v.requires_input,
            v.grade0_requires_input
        from {{ inp }} as i
        {{ ctcae__variant_match('i.term_u', 'i.direction', 'i.unit_u', 'i.unit_system') }}
        order by i.ctcae_key, i.direction, v.term_variant_id
    ),
    ctcae_fired as (
        select va.ctcae_key, va.direction, max(c.grade) as grade
        from ctcae_variants as va
        join ctcae_criteria as c
          on c.term_variant_id = va.term_variant_id
         and {{ ctcae__criterion_applies('va', 'c') }}
        where {{ ctcae__criterion_fires('va', 'c') }}
        group by va.ctcae_key, va.direction
    ),
    ctcae_graded as (
        select
            va.ctcae_key,
            va.direction,
            {{ ctcae__grade_case('va', 'f.grade', 'va.requires_input', 'va.grade0_requires_input') }} as grade
        from ctcae_variants as va
        left join ctcae_fired as f
          on f.ctcae_key = va.ctcae_key
         and f.direction = va.direction
    )
{%- endmacro %}


{#-
  Set-based interface (A). Term, variant and every threshold but the baseline-relative ones
  depend only on the test, specimen, unit, LLN and ULN, of which a trial has a few dozen
  distinct combinations: they are computed once per combination, not per row. Every row then
  joins its combination's criteria by hash, and its two grades come from one grouping of the
  criteria that fired. Steps:
    a. ctcae_rows: the input row's key and standardized inputs (signif of aval);
    b. ctcae_ranges: the distinct (test, specimen, unit, LLN, ULN) of the rows;
    c. ctcae_lookup: per distinct (test, specimen, unit): the term and the term variant of
       each direction (algorithm steps 1-2; several terms for one direction: the greatest
       term is shown, the lowest variant id of all their variants grades);
    d. ctcae_range_criteria: per range, direction and criterion of its variant, signif of the
       threshold (absolute, x LLN, x ULN; x baseline is per row) and of LLN;
    e. ctcae_fired: per row, the highest grade that fired in each direction (steps 4-5);
    f. one row per input row: terms from the lookup, grades from the fired ones (steps 3, 6).
-#}
{% macro ctcae_grades(relation, key_col, lbtestcd_col, aval_col, avalu_col, anrlo_col, anrhi_col, base_col, bnrind_col, lbspec_col=none, pchg_col=none) -%}
  {%- set lookup_key = ['lbtestcd_u', 'spec_u', 'unit_u'] -%}
    with
    ctcae_rows as (
        select
            ({{ key_col }}) as ctcae_key,
            upper(trim(({{ lbtestcd_col }})::text)) as lbtestcd_u,
            {{ "upper(trim((" ~ lbspec_col ~ ")::text))" if lbspec_col is not none else "null::text" }} as spec_u,
            {{ ctcae__input_columns(aval_col, avalu_col, anrlo_col, anrhi_col, base_col, bnrind_col, pchg_col=pchg_col) }}
        from {{ relation }}
    ),
    ctcae_ranges as (
        select distinct r.lbtestcd_u, r.spec_u, r.unit_u, r.anrlo, r.anrhi
        from ctcae_rows as r
    ),
    ctcae_key_terms as (
        select k.lbtestcd_u, k.spec_u, k.unit_u, m.direction, m.term
        from (select distinct rg.lbtestcd_u, rg.spec_u, rg.unit_u from ctcae_ranges as rg) as k
        join {{ ref('ctcae_v5_lbtestcd_map') }} as m
          on {{ ctcae__map_condition('k.lbtestcd_u', 'k.spec_u') }}
    ),
    ctcae_key_variants as (
        select distinct on (kt.lbtestcd_u, kt.spec_u, kt.unit_u, kt.direction)
            kt.lbtestcd_u,
            kt.spec_u,
            kt.unit_u,
            kt.direction,
            v.term_variant_id,
            v.requires_input,
            v.grade0_requires_input
        from ctcae_key_terms as kt
        {{ ctcae__variant_match('upper(kt.term)', 'kt.direction', 'kt.unit_u', 'null::text') }}
        order by kt.lbtestcd_u, kt.spec_u, kt.unit_u, kt.direction, v.term_variant_id
    ),
    ctcae_lookup as (
        select
            kt.lbtestcd_u,
            kt.spec_u,
            kt.unit_u,
            max(kt.term) filter (where kt.direction = 'L') as term_l,
            max(kv.term_variant_id) filter (where kt.direction = 'L') as variant_l,
            max(kv.requires_input) filter (where kt.direction = 'L') as requires_input_l,
            max(kv.grade0_requires_input) filter (where kt.direction = 'L') as grade0_requires_input_l,
            max(kt.term) filter (where kt.direction = 'H') as term_h,
            max(kv.term_variant_id) filter (where kt.direction = 'H') as variant_h,
            max(kv.requires_input) filter (where kt.direction = 'H') as requires_input_h,
            max(kv.grade0_requires_input) filter (where kt.direction = 'H') as grade0_requires_input_h
        from ctcae_key_terms as kt
        left join ctcae_key_variants as kv
          on {{ ctcae__same_key('kt', 'kv', lookup_key) }}
         and kv.direction = kt.direction
        group by kt.lbtestcd_u, kt.spec_u, kt.unit_u
    ),
    {{ ctcae__criteria_cte() }},
    ctcae_range_criteria as materialized (
        select
            rg.lbtestcd_u,
            rg.spec_u,
            rg.unit_u,
            rg.anrlo,
            rg.anrhi,
            d.direction,
            c.grade,
            c.branch,
            c.operand,
            c.operator,
            c.reference,
            c.value,
            c.addend,
            c.requires_below_lln,
            coalesce(c.absolute_rhs, {{ ctcae_signif(ctcae__relative_threshold('c', 'rg.anrlo', 'rg.anrhi', 'null::numeric')) }}) as range_rhs,
            {{ ctcae_signif('rg.anrlo') }} as anrlo_s
        from ctcae_ranges as rg
        join (
            select lk.lbtestcd_u, lk.spec_u, lk.unit_u, 'L' as direction, lk.variant_l as term_variant_id
            from ctcae_lookup as lk
            union all
            select lk.lbtestcd_u, lk.spec_u, lk.unit_u, 'H' as direction, lk.variant_h as term_variant_id
            from ctcae_lookup as lk
        ) as d
          on {{ ctcae__same_key('rg', 'd', lookup_key) }}
        join ctcae_criteria as c on c.term_variant_id = d.term_variant_id
    ),
    ctcae_fired as (
        select
            r.ctcae_key,
            max(c.grade) filter (where c.direction = 'L') as grade_l,
            max(c.grade) filter (where c.direction = 'H') as grade_h
        from ctcae_rows as r
        join ctcae_range_criteria as c
          on {{ ctcae__same_key('r', 'c', lookup_key, ['anrlo', 'anrhi']) }}
         and {{ ctcae__criterion_applies('r', 'c', anrlo_s='c.anrlo_s') }}
        where {{ ctcae__criterion_fires('r', 'c', rhs="case c.reference when 'base' then "
                                                        ~ ctcae_signif(ctcae__relative_threshold('c', 'null::numeric', 'null::numeric', 'r.base'))
                                                        ~ " else c.range_rhs end") }}
        group by r.ctcae_key
    )
    select
        r.ctcae_key,
        lk.term_l as atoxdscl,
        case when lk.variant_l is not null then
            {{ ctcae__grade_case('r', 'f.grade_l', 'lk.requires_input_l', 'lk.grade0_requires_input_l') }}
        end as atoxgrl,
        lk.term_h as atoxdsch,
        case when lk.variant_h is not null then
            {{ ctcae__grade_case('r', 'f.grade_h', 'lk.requires_input_h', 'lk.grade0_requires_input_h') }}
        end as atoxgrh
    from ctcae_rows as r
    left join ctcae_lookup as lk
      on {{ ctcae__same_key('r', 'lk', lookup_key) }}
    left join ctcae_fired as f
      on f.ctcae_key = r.ctcae_key
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


