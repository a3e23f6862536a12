{{ config(materialized='table', schema='conformance', enabled=var('ctcae_conformance', false),
          pre_hook='set local jit = off') }}

with

cases as (
    select * from {{ source('ctcae_conformance', 'ctcae_expected_grades') }}
),

typed as (
    select
        case_id,
        test,
        direction,
        case criteria
            when 'atoxgr_criteria_ctcv5' then 'SI'
            when 'atoxgr_criteria_ctcv5_uscv' then 'USCV'
        end as unit_system,
        nullif(high_indicator, '') as high_indicator,
        nullif(case direction when 'L' then atoxdscl else atoxdsch end, '') as term,
        nullif(case direction when 'L' then atoxgrl else atoxgrh end, '') as expected_grade,
        nullif(aval, '')::numeric as aval,
        nullif(avalu, '') as avalu,
        nullif(anrlo, '')::numeric as anrlo,
        nullif(anrhi, '')::numeric as anrhi,
        nullif(base, '')::numeric as base,
        nullif(bnrind, '') as bnrind,
        nullif(pchg, '')::numeric as pchg
    from cases
),

graded as (
    select
        typed.*,
        case direction
            when 'L' then {{ ctcae_grade_term('L', 'term', 'aval', 'avalu', 'anrlo', 'anrhi', 'base', 'bnrind',
                                              pchg_col='pchg', unit_system_col='unit_system',
                                              baseline_high_expr='coalesce(bnrind = high_indicator, false)') }}
            when 'H' then {{ ctcae_grade_term('H', 'term', 'aval', 'avalu', 'anrlo', 'anrhi', 'base', 'bnrind',
                                              pchg_col='pchg', unit_system_col='unit_system',
                                              baseline_high_expr='coalesce(bnrind = high_indicator, false)') }}
        end as derived_grade
    from typed
)

select
    case_id,
    test,
    direction,
    unit_system,
    term,
    aval,
    avalu,
    anrlo,
    anrhi,
    base,
    bnrind,
    pchg,
    expected_grade,
    derived_grade,
    expected_grade is not distinct from derived_grade as agrees
from graded
