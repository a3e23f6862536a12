{{
  config(
    materialized='incremental',
    unique_key='lab_record_key',
    incremental_strategy='delete+insert',
    on_schema_change='append_new_columns',
    indexes=[
      {'columns': ['lab_record_key'], 'unique': True},
      {'columns': ['usubjid', 'lbtestcd']},
    ],
    pre_hook=["set local jit = off", "set local enable_nestloop = off", "set local enable_mergejoin = off"],
    post_hook=["{{ fct_lab_results_drop_unusable() }}"]
  )
}}
{%- set since = incremental_since('marts_since_file_id') %}
{%- set scope_model = ref('int_lab_results__rederive_scope') %}{#- a dependency on every build -#}
{#-
  fct_lab_results: every standardized, usable lab result with baseline, change from
  baseline and CTCAE v5 grades (ADaM BDS naming: AVAL, BASE, CHG, ATOXGRL/H, BTOXGRL/H).
  Steps:
    1. usable staged results with a full date;
    2. baseline (ABLFL = Y): the subject's last result per test and specimen dated on or
       before the first study dose; BASE/BNRIND from it; CHG and PCHG (window functions over
       subject/test/specimen, no self-joins: the planner cannot estimate those and chose
       nested loops that grew quadratically);
    3. CTCAE grades in the low and high direction with the shared set-based ctcae_grades
       macro (one pass over the table, JIT off; null where no grade applies); baseline
       grades are the grades of the baseline record (joined by its key, baseline_key);
    4. row_hash over every derived value.
  Joins are by hash only (pre_hook): the CTEs have no statistics, so the planner estimated
  the key joins at hundreds of millions of rows and chose nested loops (quadratic) or
  sort-merge joins (external sorts of the whole table on the md5 keys).
  Incremental (var marts_since_file_id, see macros/incremental.sql): only what can have
  changed since this table was built is derived again.
    a. the scope (int_lab_results__rederive_scope): every record of a re-based subject,
       whose baseline may move, and the changed records of the other subjects;
    b. a changed record of a subject that is not re-based is post-baseline: it takes BASE,
       BNRIND and the baseline grades of its group from the rows already in this table;
    c. delete+insert on lab_record_key; the post-hook deletes changed records that are no
       longer usable.
  A full build (first build, a changed model or seed, a fresh candidate schema) derives
  everything, and tests/transform/test_incremental.py checks both give the same table.
-#}
with staged as (
    -- only the columns this table uses: every sort, window and hash below carries them
    select
        lab_record_key,
        usubjid,
        lbtestcd,
        lbspec,
        lbtest,
        lbcat,
        lbdtc,
        lbdt,
        visit,
        cycle,
        cycle_day,
        lbstresn,
        lbstresu,
        lbstresc,
        lbnrlo,
        lbnrhi,
        value_source,
        is_usable,
        _delivery_id,
        _file,
        _line
    from {{ ref('stg_sdtm__lb') }}
),

ref_dates as (
    select
        usubjid,
        trtsdt
    from {{ ref('int_subject__reference_dates') }}
),
{%- if since is not none %}

scope as (
    select * from {{ scope_model }}
),

previous_baseline as (
    -- groups whose baseline did not move keep the one stored in this table
    select t.usubjid, t.lbtestcd, t.lbspec, t.base as prev_base, t.bnrind as prev_bnrind,
        t.btoxgrl as prev_btoxgrl, t.btoxgrh as prev_btoxgrh
    from {{ this }} t
    where t.ablfl = 'Y'
      and t.usubjid in (select usubjid from scope where not is_rebased)
),
{%- endif %}

labs as (
    select s.* from staged as s
    {%- if since is not none %}
    -- the scope table itself, not the scope CTE: with the table's statistics the planner
    -- hashes the scope and streams staging past it (joined to the CTE it hashed all of
    -- staging, 2.8M rows in 16 batches on disk at 10,000 subjects: 12.8 -> 10.0 s)
    join {{ scope_model }} as sc using (lab_record_key)
    {%- endif %}
    where s.is_usable and s.lbdt is not null
),

with_baseline as (
    {#- baseline: per subject, test and specimen, the last result (by date, then LBDTC) on or
        before the first dose; a window instead of a self-join keeps the plan linear -#}
    select
        c.*,
        c.is_candidate and row_number() over (
            partition by c.usubjid, c.lbtestcd, c.lbspec
            order by c.is_candidate desc, c.lbdt desc, c.lbdtc desc
        ) = 1 as is_baseline
    from (
        select
            l.*,
            r.trtsdt,
            coalesce(
                r.trtsdt is not null and l.lbdt <= r.trtsdt
                and (l.lbstresn is not null or l.lbstresc is not null), false
            ) as is_candidate
        from labs as l
        left join ref_dates as r using (usubjid)
    ) as c
),

base as (
    select
        w.*,
        {%- if since is not none %}
        coalesce(b_lbstresn, pb.prev_base) as base,
        {%- else %}
            b_lbstresn as base,
        {%- endif %}
        case when b_lbstresn is null then {{ "pb.prev_bnrind" if since is not none else "null" }}
            when b_lbstresn < b_lbnrlo then 'LOW'
            when b_lbstresn > b_lbnrhi then 'HIGH'
            when b_lbnrlo is not null or b_lbnrhi is not null then 'NORMAL'
        end as bnrind
    {%- if since is not none %},
        pb.prev_btoxgrl,
        pb.prev_btoxgrh
        {%- endif %}
    from (
        select
            wb.*,
            max(wb.lbstresn) filter (where wb.is_baseline) over grp as b_lbstresn,
            max(wb.lbnrlo) filter (where wb.is_baseline) over grp as b_lbnrlo,
            max(wb.lbnrhi) filter (where wb.is_baseline) over grp as b_lbnrhi,
            max(wb.lab_record_key) filter (where wb.is_baseline) over grp as baseline_key
        from with_baseline as wb
        window grp as (partition by wb.usubjid, wb.lbtestcd, wb.lbspec)
    ) as w
    {%- if since is not none %}
    left join previous_baseline pb
        on pb.usubjid = w.usubjid and pb.lbtestcd = w.lbtestcd and pb.lbspec = w.lbspec
    {%- endif %}
),

ctcae as (
    {{ ctcae_grades('base', 'lab_record_key', 'lbtestcd', 'lbstresn', 'lbstresu', 'lbnrlo', 'lbnrhi',
                    'base', 'bnrind', lbspec_col='lbspec') }}
),

with_baseline_grades as (
    {#- the baseline grades are the grades of the group's baseline record, found by its key
        (a second window over the graded rows re-sorted the whole table) -#}
    select
        b.*,
        case when b.lbstresn < b.lbnrlo then 'LOW' when b.lbstresn > b.lbnrhi then 'HIGH'
            when b.lbstresn is not null and (b.lbnrlo is not null or b.lbnrhi is not null) then 'NORMAL'
        end as anrind,
        g.atoxgrl,
        g.atoxgrh,
        bg.atoxgrl as btoxgrl,
        bg.atoxgrh as btoxgrh
    from base as b
    left join ctcae as g on b.lab_record_key = g.ctcae_key
    left join ctcae as bg on b.baseline_key = bg.ctcae_key
),

final as (
    select
        lab_record_key,
        usubjid,
        lbtestcd,
        lbspec,
        lbtest,
        lbcat,
        lbdtc,
        lbdt,
        (lbdt - trtsdt + case when lbdt >= trtsdt then 1 else 0 end)::integer as ady,
        visit,
        cycle,
        cycle_day,
        lbstresn as aval,
        lbstresu as avalu,
        lbstresc as avalc,
        lbnrlo as anrlo,
        lbnrhi as anrhi,
        anrind,
        case when is_baseline then 'Y' end as ablfl,
        base,
        bnrind,
        lbstresn - base as chg,
        round(100 * (lbstresn - base) / nullif(base, 0), 4) as pchg,
        atoxgrl::text as atoxgrl,
        atoxgrh::text as atoxgrh,
        {%- if since is not none %}
        coalesce(btoxgrl::text, prev_btoxgrl) as btoxgrl,
        coalesce(btoxgrh::text, prev_btoxgrh) as btoxgrh,
        {%- else %}
            btoxgrl::text as btoxgrl,
            btoxgrh::text as btoxgrh,
        {%- endif %}
        value_source,
        _delivery_id,
        _file,
        _line
    from with_baseline_grades
),

hashed as (
    select
        f.*,
        md5(concat_ws(
            '|', f.usubjid, f.lbtestcd, f.lbspec, f.lbdtc, f.ady, f.visit, f.aval, f.avalu, f.avalc,
            f.anrlo, f.anrhi, f.ablfl, f.base, f.bnrind, f.atoxgrl, f.atoxgrh, f.btoxgrl, f.btoxgrh,
            f._delivery_id, f._file, f._line
        )) as row_hash
    from final as f
)

select * from hashed
