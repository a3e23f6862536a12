{{ staging_incremental_config(extra_indexes=[{'columns': ['lab_record_key'], 'unique': True}]) }}
{%- set key_cols = sdtm_key_cols('lb') %}
{#-
  Laboratory results, current version per natural key (USUBJID, LBTESTCD, LBSPEC, LBDTC).
  Steps:
    1. keep the latest delivery's version of each natural key (as sent); an incremental
       build reads only what arrived since the last one (macros/incremental.sql);
    2. map the sent test code (and specimen) to LBTESTCD + LBSPEC with the alias seed,
       an exact specimen match winning over a specimen-free alias;
    3. read the result: numeric tests convert LBORRES from LBORRESU to the standard unit with
       the per-test factor seed; when the original unit is unknown but LBSTRESN/LBSTRESU are
       sent in a known unit, those are converted instead; units are never guessed;
       a below-limit result ('<0.2' in a known unit) is usable with LBSTRESN null and
       LBSTRESC '<' and the limit converted to the standard unit (ADLB AVAL null, AVALC it);
    4. convert the reference range with the same factor;
    5. parse the date (partial dates cannot be placed in time and are flagged) and the
       cycle/day from VISIT;
    6. flag semantic problems (issue_items) and set is_usable.
  Numbers, dates and visits are parsed once per distinct text (number_texts,
  collection_dates, visit_labels) and joined: a regular expression per row, evaluated again
  wherever the planner inlined the parsed value, was most of this model's time.
-#}
with source as not materialized (  -- read again for the distinct texts to parse
    {{ incremental_source('lb') }}
),

aliases as (
    select * from {{ ref('lab_test_aliases') }}
),

tests as (
    select * from {{ ref('lab_tests') }}
),

conversions as (
    select
        lbtestcd,
        lbspec,
        {{ norm_unit('from_unit') }} as unit_key,
        factor::numeric as factor
    from {{ ref('lab_unit_conversions') }}
),

subjects as (
    select usubjid from {{ ref('stg_sdtm__dm') }}
),

number_texts as (
    select
        num_text,
        {{ safe_numeric('num_text') }} as num
    from (
        {#- the distinct texts of the six number columns in one pass: one grouping set per
            column (the other five are null in its rows); unnest per row cost 3-5x more -#}
        select distinct g.num_text
        from (
            select
                coalesce(
                    lborres, lbstresn, lbornrlo, lbornrhi, lbstnrlo, lbstnrhi,
                    {{ below_limit_text('lborres') }}
                ) as num_text
            from source
            group by grouping sets (
                (lborres), (lbstresn), (lbornrlo), (lbornrhi), (lbstnrlo), (lbstnrhi),
                ({{ below_limit_text('lborres') }})
            )
        ) as g
    ) as d
),

collection_dates as (
    select
        date_key,
        {{ iso_date('date_key') }} as lbdt,
        {{ iso_date_status('date_key') }} as date_status
    from (select distinct coalesce(lbdtc, '') as date_key from source) as d
),

visit_labels as (
    select
        visit_key,
        {{ visit_cycle('visit_key') }} as cycle,
        {{ visit_day('visit_key') }} as cycle_day
    from (select distinct coalesce(visit, '') as visit_key from source) as v
),

current_version as (
    {{ current_versions('source', 'lb', key_cols, exclude_qualifiers=sdtm_key_exclude_qualifiers('lb')) }}
),

mapped as (
    select
        cv.*,
        coalesce(exact.lbtestcd, any_spec.lbtestcd) as std_lbtestcd,
        coalesce(exact.lbspec, any_spec.lbspec) as std_lbspec
    from current_version as cv
    left join aliases as exact
        on upper(exact.source_code) = upper(btrim(cv.lbtestcd))
            and upper(exact.source_spec) = upper(btrim(cv.lbspec))
    left join aliases as any_spec
        on upper(any_spec.source_code) = upper(btrim(cv.lbtestcd))
            and any_spec.source_spec is null
),

valued as (
    select
        m.*,
        t.standard_unit,
        t.result_type,
        t.lbtest as std_lbtest,
        o_res.num as orres_num,
        s_res.num as stres_num,
        {#- a below-limit result ('<0.2'): the limit, in the original units -#}
        o_below.num as orres_below_num,
        o_lo.num as ornrlo_num,
        o_hi.num as ornrhi_num,
        s_lo.num as stnrlo_num,
        s_hi.num as stnrhi_num,
        co.factor as orres_factor,
        cs.factor as stres_factor
    from mapped as m
    left join number_texts as o_res on m.lborres = o_res.num_text
    left join number_texts as o_below on {{ below_limit_text('m.lborres') }} = o_below.num_text
    left join number_texts as s_res on m.lbstresn = s_res.num_text
    left join number_texts as o_lo on m.lbornrlo = o_lo.num_text
    left join number_texts as o_hi on m.lbornrhi = o_hi.num_text
    left join number_texts as s_lo on m.lbstnrlo = s_lo.num_text
    left join number_texts as s_hi on m.lbstnrhi = s_hi.num_text
    left join tests as t on m.std_lbtestcd = t.lbtestcd and m.std_lbspec = t.lbspec
    left join conversions as co
        on m.std_lbtestcd = co.lbtestcd and m.std_lbspec = co.lbspec and co.unit_key = {{ norm_unit('m.lborresu') }}
    left join conversions as cs
        on m.std_lbtestcd = cs.lbtestcd and m.std_lbspec = cs.lbspec and cs.unit_key = {{ norm_unit('m.lbstresu') }}
            and nullif(btrim(m.lbstresu), '') is not null
),

standardized as (
    select
        v.*,
        case
            when v.result_type <> 'numeric' then null
            when v.orres_num is not null and v.orres_factor is not null then 'original'
            when v.orres_num is null and v.orres_below_num is not null and v.orres_factor is not null then 'original'
            when v.stres_num is not null and v.stres_factor is not null then 'standardized'
        end as value_source
    from valued as v
),

typed as (
    select
        btrim(s.usubjid) as usubjid,
        s.std_lbtestcd as lbtestcd,
        s.std_lbspec as lbspec,
        coalesce(s.std_lbtest, nullif(btrim(s.lbtest), '')) as lbtest,
        {{ norm_upper('s.lbcat') }} as lbcat,
        upper(btrim(s.lbtestcd)) as lbtestcd_source,
        nullif(upper(btrim(s.lbspec)), '') as lbspec_source,
        nullif(btrim(s.lborres), '') as lborres,
        nullif(btrim(s.lborresu), '') as lborresu,
        dt.lbdt,
        nullif(btrim(s.lbdtc), '') as lbdtc,
        round(case s.value_source
            when 'original' then s.orres_num * s.orres_factor
            when 'standardized' then s.stres_num * s.stres_factor
        end, 6) as lbstresn,
        case when s.result_type = 'numeric' then s.standard_unit end as lbstresu,
        case
            when s.result_type = 'text' then upper(btrim(s.lborres))
            when s.value_source = 'original' and s.orres_num is null
                then '<' || trim_scale(round(s.orres_below_num * s.orres_factor, 6))::text
            when s.value_source = 'original' then (round(s.orres_num * s.orres_factor, 6))::text
            when s.value_source = 'standardized' then (round(s.stres_num * s.stres_factor, 6))::text
        end as lbstresc,
        round(case s.value_source
            when 'original' then s.ornrlo_num * s.orres_factor
            when 'standardized' then s.stnrlo_num * s.stres_factor
        end, 6) as lbnrlo,
        round(case s.value_source
            when 'original' then s.ornrhi_num * s.orres_factor
            when 'standardized' then s.stnrhi_num * s.stres_factor
        end, 6) as lbnrhi,
        s.value_source,
        {{ norm_upper('s.lbstat') }} as lbstat,
        nullif(btrim(s.lbrefid), '') as lbrefid,
        nullif(btrim(s.visit), '') as visit,
        vl.cycle,
        vl.cycle_day,
        {%- set not_done = "(upper(coalesce(s.lbstat, '')) = 'NOT DONE' or nullif(btrim(s.lborres), '') is null and nullif(btrim(s.lbstresn), '') is null)" %}
        {%- set checks = [
            ("sub.usubjid is null", 'usubjid', 's.usubjid', 'subject not in DM'),
            ("s.std_lbtestcd is null", 'lbtestcd', "concat_ws('/', s.lbtestcd, nullif(s.lbspec, ''))", 'unknown test code'),
            ("dt.date_status = 'invalid'", 'lbdtc', 's.lbdtc', 'unparseable date'),
            ("dt.date_status in ('partial', 'missing')", 'lbdtc', 's.lbdtc', 'partial date'),
            ("s.result_type = 'numeric' and not " ~ not_done ~ " and s.orres_num is null and s.stres_num is null and s.value_source is null", 'lborres', 's.lborres', 'non-numeric result'),
            ("s.result_type = 'numeric' and s.value_source is null and (s.orres_num is not null or s.stres_num is not null)", 'lborresu', "concat_ws(' / ', s.lborresu, nullif(s.lbstresu, ''))", 'unknown unit'),
        ] %}
        {{ issue_items(checks) }} as issue_items,
        {#- is_usable and issue from the same checks, not read back from issue_items: that
            needed issue_items materialized (the whole table written to disk and read again) #}
        not {{ issue_any(checks) }} and not {{ not_done }} as is_usable,
        coalesce({{ issue_text_of(checks) }}, case when {{ not_done }} then 'test not done (no result)' end) as issue,
        s._delivery_id,
        s._file_id,
        s._natural_key,
        {{ record_key('s') }} as _record_key,
        {{ safe_numeric(raw_column_if_present('s', 'lb', 'lbseq')) }} as lbseq,
        s._file,
        s._line
    from standardized as s
    left join subjects as sub on sub.usubjid = btrim(s.usubjid)
    left join collection_dates as dt on dt.date_key = coalesce(s.lbdtc, '')
    left join visit_labels as vl on vl.visit_key = coalesce(s.visit, '')
)

select
    usubjid,
    lbtestcd,
    lbspec,
    lbtest,
    lbcat,
    lbdt,
    lbdtc,
    lbstresn,
    lbstresu,
    lbstresc,
    lbnrlo,
    lbnrhi,
    visit,
    cycle,
    cycle_day,
    lborres,
    lborresu,
    lbtestcd_source,
    lbspec_source,
    value_source,
    lbstat,
    lbrefid,
    _record_key as lab_record_key,
    is_usable,
    issue,
    issue_items,
    lbseq,
    _record_key,
    _delivery_id,
    _file_id,
    _file,
    _line,
    _natural_key
from typed
