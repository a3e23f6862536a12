{#-
  Assessment-level input of the IMWG derivation: one row per subject and post-baseline
  assessment, with the subject's baseline and context on every row.
  Assessment grouping rule (domain.md 4, "one assessment"): the response labs (serum/urine
  M-protein, serum/urine immunofixation, kappa/lambda FLC and ratio, marrow plasma cells) and
  the skeletal survey (RS SKELSURV) of one subject form one assessment when
    - they carry the same scheduled VISIT label (any label but var unscheduled_visit_label),
      even when a 24-h urine is dated a day or two after the serum;
    - or they are unscheduled (VISIT = var unscheduled_visit_label) or unlabelled and share a
      date: two unscheduled visits on different dates are two assessments.
  The assessment date is the earliest measurement date in the group; only records after the
  first study dose are assessments.
  The investigator's overall response (RS OVRLRESP, not the prior-therapy epoch) is matched
  on the same key.
-#}
with context as (
    select * from {{ ref('int_response__subject_context') }}
),

labs as (
    select
        l.usubjid,
        {{ assessment_key('l.visit', 'l.lbdt') }} as assessment_key,
        l.visit,
        l.lbdt,
        l.lbtestcd,
        l.lbspec,
        l.lbstresn,
        upper(l.lbstresc) as lbstresc
    from {{ ref('stg_sdtm__lb') }} as l
    inner join context as c using (usubjid)
    where l.is_usable and l.lbdt > c.first_dose_date
        and (l.lbtestcd, l.lbspec) in (
            ('MPROTEIN', 'SERUM'), ('MPROTEIN', 'URINE'), ('IMFIX', 'SERUM'), ('IMFIX', 'URINE'),
            ('KLCFR', 'SERUM'), ('LLCFR', 'SERUM'), ('KLCLLCFR', 'SERUM'), ('PLSCECE', 'BONE MARROW')
        )
),

rs as (
    select
        r.usubjid,
        {{ assessment_key('r.visit', 'r.rsdt') }} as assessment_key,
        r.visit,
        r.rsdt,
        r.rstestcd,
        upper(r.rsstresc) as rsstresc,
        r.rsstresc as rsstresc_raw
    from {{ ref('stg_sdtm__rs') }} as r
    inner join context as c using (usubjid)
    where r.is_usable and r.rsdt > c.first_dose_date
        and coalesce(r.epoch, '') <> '{{ var("prior_pd_epoch") }}'
        and r.rstestcd in ('SKELSURV', 'OVRLRESP')
),

lab_values as (
    select
        usubjid,
        assessment_key,
        max(visit) as visit,
        min(lbdt) as lab_date,
        max(lbstresn) filter (where lbtestcd = 'MPROTEIN' and lbspec = 'SERUM') as serum_m,
        max(lbstresn) filter (where lbtestcd = 'MPROTEIN' and lbspec = 'URINE') as urine_m,
        max(lbstresc) filter (where lbtestcd = 'IMFIX' and lbspec = 'SERUM') as serum_ife,
        max(lbstresc) filter (where lbtestcd = 'IMFIX' and lbspec = 'URINE') as urine_ife,
        max(lbstresn) filter (where lbtestcd = 'KLCFR') as kappa_flc,
        max(lbstresn) filter (where lbtestcd = 'LLCFR') as lambda_flc,
        max(lbstresn) filter (where lbtestcd = 'KLCLLCFR') as flc_ratio_sent,
        max(lbstresn) filter (where lbtestcd = 'PLSCECE') as bmpc
    from labs
    group by usubjid, assessment_key
),

rs_values as (
    select
        usubjid,
        assessment_key,
        max(visit) as visit,
        min(rsdt) filter (where rstestcd = 'SKELSURV') as skel_date,
        bool_or(rsstresc = 'PROGRESSION') filter (where rstestcd = 'SKELSURV') as skeletal_progression,
        max(rsstresc_raw) filter (where rstestcd = 'OVRLRESP') as investigator_response
    from rs
    group by usubjid, assessment_key
),

assessments as (
    select
        coalesce(l.usubjid, r.usubjid) as usubjid,
        coalesce(l.visit, r.visit) as visit,
        coalesce(l.lab_date, r.skel_date) as assessment_date,
        l.serum_m,
        l.urine_m,
        l.serum_ife,
        l.urine_ife,
        l.kappa_flc,
        l.lambda_flc,
        coalesce(l.flc_ratio_sent, round(l.kappa_flc / nullif(l.lambda_flc, 0), 4)) as flc_ratio,
        l.bmpc,
        coalesce(r.skeletal_progression, false) as skeletal_progression,
        r.investigator_response
    from lab_values as l
    full join rs_values as r using (usubjid, assessment_key)
)

select
    a.usubjid,
    row_number() over (partition by a.usubjid order by a.assessment_date, a.visit)::int as assessment_seq,
    a.visit,
    a.assessment_date,
    a.serum_m,
    a.urine_m,
    a.serum_ife,
    a.urine_ife,
    a.kappa_flc,
    a.lambda_flc,
    a.flc_ratio,
    a.bmpc,
    a.skeletal_progression,
    a.investigator_response,
    c.first_dose_date,
    c.new_therapy_date,
    c.death_date,
    c.death_from_pd,
    c.base_serum_m,
    c.base_urine_m,
    c.base_kappa,
    c.base_lambda,
    c.base_flc_ratio,
    c.involved_chain,
    c.base_bmpc
from assessments as a
inner join context as c using (usubjid)
where a.assessment_date is not null
