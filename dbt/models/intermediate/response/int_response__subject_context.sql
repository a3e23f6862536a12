{#-
  Per treated subject, everything the response derivation needs besides the assessments.
  Steps:
    1. first study dose, maintenance start (int_subject__treatment);
    2. baseline serum/urine M, kappa, lambda, FLC ratio, involved chain, BMPC
       (int_subject__baseline_labs: last value on or before the first dose);
    3. new anti-myeloma therapy: the earliest of the first CM record flagged anti-myeloma,
       not a prior regimen (CMCAT <> prior_therapy_cmcat), starting after the first study
       dose, and the investigator's NACTDT (RS OVRLRESP outside the prior-therapy epoch, a
       full date after the first study dose; feeds.md RS);
    4. death: DM.DTHDT, else the end/onset of a fatal AE; death from PD when the
       investigator's OVRLRESP record carries DTHPDFL = Y, or a fatal AE's AEDECOD is one of
       response_pd_death_terms (domain.md 4).
-#}
with treatment as (
    select * from {{ ref('int_subject__treatment') }}
    where trtsdt is not null
),

baseline as (
    select * from {{ ref('int_subject__baseline_labs') }}
),

dm as (
    select
        usubjid,
        dthdt
    from {{ ref('stg_sdtm__dm') }}
),

fatal_ae as (
    select
        usubjid,
        min(coalesce(aeendt, aestdt)) as fatal_ae_date,
        bool_or(upper(aedecod) in ({% for t in var('response_pd_death_terms') %}'{{ t }}'{% if not loop.last %}, {% endif %}{% endfor %})) as death_from_pd
    from {{ ref('stg_sdtm__ae') }}
    where is_usable and aeout = 'FATAL'
    group by usubjid
),

investigator as (
    select
        rs.usubjid,
        bool_or(rs.dthpdfl) as death_from_pd,
        min(rs.nactdt) filter (where rs.nactdt > t.trtsdt) as new_therapy_date
    from {{ ref('stg_sdtm__rs') }} as rs
    inner join treatment as t using (usubjid)
    where rs.is_usable and rs.rstestcd = 'OVRLRESP'
        and coalesce(rs.epoch, '') <> '{{ var("prior_pd_epoch") }}'
        and (rs.dthpdfl or rs.nactdt is not null)
    group by rs.usubjid
),

new_therapy_cm as (
    select
        cm.usubjid,
        min(cm.cmstdt) as new_therapy_date
    from {{ ref('stg_sdtm__cm') }} as cm
    inner join treatment as t using (usubjid)
    where cm.is_usable and cm.is_anti_myeloma and cm.cmstdt > t.trtsdt
        and coalesce(cm.cmcat, '') <> '{{ var("prior_therapy_cmcat") }}'
    group by cm.usubjid
)

select
    t.usubjid,
    t.trtsdt as first_dose_date,
    t.maintenance_start_date,
    coalesce(t.entered_maintenance, false) as entered_maintenance,
    coalesce(dm.dthdt, fa.fatal_ae_date) as death_date,
    coalesce(inv.death_from_pd, false) or coalesce(fa.death_from_pd, false) as death_from_pd,
    least(nt.new_therapy_date, inv.new_therapy_date) as new_therapy_date,
    b.baseline_serum_m as base_serum_m,
    b.baseline_urine_m as base_urine_m,
    b.baseline_kappa as base_kappa,
    b.baseline_lambda as base_lambda,
    b.baseline_flc_ratio as base_flc_ratio,
    b.involved_chain,
    b.baseline_bmpc as base_bmpc
from treatment as t
left join baseline as b using (usubjid)
left join dm using (usubjid)
left join fatal_ae as fa using (usubjid)
left join new_therapy_cm as nt using (usubjid)
left join investigator as inv using (usubjid)
