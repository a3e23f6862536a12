{{ config(materialized='table', schema='conformance', enabled=var('ctcae_conformance', false)) }}

with

cases as (
    select * from {{ source('ctcae_conformance', 'ctcae_lab_cases') }}
),

graded as (
    select
        cases.*,
        {{ ctcae_term('L', 'lbtestcd', 'lbspec') }} as atoxdscl,
        {{ ctcae_grade('L', 'lbtestcd', 'aval', 'avalu', 'anrlo', 'anrhi', 'base', 'bnrind', lbspec_col='lbspec') }} as atoxgrl,
        {{ ctcae_term('H', 'lbtestcd', 'lbspec') }} as atoxdsch,
        {{ ctcae_grade('H', 'lbtestcd', 'aval', 'avalu', 'anrlo', 'anrhi', 'base', 'bnrind', lbspec_col='lbspec') }} as atoxgrh
    from cases
)

select * from graded
