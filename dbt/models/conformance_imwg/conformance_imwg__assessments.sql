{#-
  admiralonco IMWG vignette input -> assessment shape.
  Steps:
    1. OVRLRESP records by the investigator; SUPPRS flags pivoted per RSSEQ;
    2. ADT: RSDTC, a missing day imputed to the last day of the month (as the vignette does);
    3. pd_by_imaging = PDIFL, pd_death_confirms = DTHPDFL, new_therapy_date = NACTDT.
-#}
with rs as (
    select * from {{ source('conformance_imwg', 'rs_onco_imwg') }}
),

supp as (
    select * from {{ source('conformance_imwg', 'supprs_onco_imwg') }}
),

flags as (
    select
        usubjid,
        idvarval::int as rsseq,
        bool_or(qnam = 'PDIFL' and qval = 'Y') as pdifl,
        bool_or(qnam = 'DTHPDFL' and qval = 'Y') as dthpdfl,
        max(case when qnam = 'NACTDT' then qval end)::date as nactdt
    from supp
    where idvar = 'RSSEQ'
    group by 1, 2
),

final as (
    select
        rs.usubjid,
        case
            when length(rs.rsdtc) = 7
            then (to_date(rs.rsdtc || '-01', 'YYYY-MM-DD') + interval '1 month' - interval '1 day')::date
            else rs.rsdtc::date
        end as assessment_date,
        rs.rsseq::int as assessment_seq,
        rs.visit,
        rs.rsstresc as category,
        coalesce(f.pdifl, false) as pd_by_imaging,
        coalesce(f.dthpdfl, false) as pd_death_confirms,
        f.nactdt as new_therapy_date
    from rs
    left join flags f on f.usubjid = rs.usubjid and f.rsseq = rs.rsseq::int
    where rs.rstestcd = 'OVRLRESP' and rs.rseval = 'INVESTIGATOR'
)

select * from final
