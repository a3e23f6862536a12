{{ config(materialized='table', schema='conformance', enabled=var('ctcae_conformance', false),
          pre_hook='set local jit = off') }}

with

cases as (
    select * from {{ source('ctcae_conformance', 'ctcae_lab_cases') }}
),

graded as (
    {{ ctcae_grades('cases', 'case_id', 'lbtestcd', 'aval', 'avalu', 'anrlo', 'anrhi', 'base', 'bnrind',
                    lbspec_col='lbspec') }}
),

final as (
    select
        cases.*,
        graded.atoxdscl,
        graded.atoxgrl,
        graded.atoxdsch,
        graded.atoxgrh,
        {{ ctcae_term('L', 'cases.lbtestcd', 'cases.lbspec') }} as expr_atoxdscl,
        {{ ctcae_grade('L', 'cases.lbtestcd', 'cases.aval', 'cases.avalu', 'cases.anrlo', 'cases.anrhi',
                       'cases.base', 'cases.bnrind', lbspec_col='cases.lbspec') }} as expr_atoxgrl,
        {{ ctcae_term('H', 'cases.lbtestcd', 'cases.lbspec') }} as expr_atoxdsch,
        {{ ctcae_grade('H', 'cases.lbtestcd', 'cases.aval', 'cases.avalu', 'cases.anrlo', 'cases.anrhi',
                       'cases.base', 'cases.bnrind', lbspec_col='cases.lbspec') }} as expr_atoxgrh
    from cases
    left join graded
      on graded.ctcae_key = cases.case_id
)

select * from final
