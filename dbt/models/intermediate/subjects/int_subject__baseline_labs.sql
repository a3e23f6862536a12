{#-
  Baseline disease and prognostic labs per subject (domain.md 2 E6, 4, 6).
  Steps:
    1. take usable lab results dated on or before the reference date (first study dose);
    2. per test, keep the last such value (baseline);
    3. FLC: involved chain = kappa when the kappa/lambda ratio is above the normal range,
       lambda when below (kappa vs lambda when no ratio); ratio from KLCLLCFR or kappa/lambda;
    4. measurable disease (IMWG): serum M >= e6_serum_m_min g/dL, urine M >= e6_urine_m_min
       mg/24h, involved FLC >= e6_iflc_min mg/dL with an abnormal ratio;
    5. ISS: I when B2M < iss_b2m_low and albumin >= iss_albumin, III when B2M >= iss_b2m_high,
       II otherwise (null when B2M is missing, or when albumin is needed and missing).
-#}
with labs as (
    select * from {{ ref('stg_sdtm__lb') }}
    where is_usable and lbdt is not null and lbstresn is not null
),

ref_dates as (
    select * from {{ ref('int_subject__reference_dates') }}
),

pre as (
    select
        l.usubjid,
        l.lbtestcd,
        l.lbspec,
        l.lbdt,
        l.lbstresn
    from labs as l
    inner join ref_dates as r using (usubjid)
    where r.reference_date is null or l.lbdt <= r.reference_date
),

last_value as (
    select distinct on (usubjid, lbtestcd, lbspec)
        usubjid,
        lbtestcd,
        lbspec,
        lbstresn,
        lbdt
    from pre
    where lbtestcd in ('MPROTEIN', 'KLCFR', 'LLCFR', 'KLCLLCFR', 'B2MICG', 'ALB', 'PLSCECE')
    order by usubjid asc, lbtestcd asc, lbspec asc, lbdt desc
),

pivoted as (
    select
        r.usubjid,
        max(lv.lbstresn) filter (where lv.lbtestcd = 'MPROTEIN' and lv.lbspec = 'SERUM') as baseline_serum_m,
        max(lv.lbdt) filter (where lv.lbtestcd = 'MPROTEIN' and lv.lbspec = 'SERUM') as baseline_serum_m_date,
        max(lv.lbstresn) filter (where lv.lbtestcd = 'MPROTEIN' and lv.lbspec = 'URINE') as baseline_urine_m,
        max(lv.lbdt) filter (where lv.lbtestcd = 'MPROTEIN' and lv.lbspec = 'URINE') as baseline_urine_m_date,
        max(lv.lbstresn) filter (where lv.lbtestcd = 'KLCFR') as baseline_kappa,
        max(lv.lbstresn) filter (where lv.lbtestcd = 'LLCFR') as baseline_lambda,
        max(lv.lbstresn) filter (where lv.lbtestcd = 'KLCLLCFR') as baseline_flc_ratio_sent,
        max(lv.lbstresn) filter (where lv.lbtestcd = 'B2MICG') as baseline_b2m,
        max(lv.lbstresn) filter (where lv.lbtestcd = 'ALB') as baseline_albumin,
        max(lv.lbstresn) filter (where lv.lbtestcd = 'PLSCECE') as baseline_bmpc
    from ref_dates as r
    left join last_value as lv using (usubjid)
    group by r.usubjid
),

flc as (
    select
        p.*,
        coalesce(p.baseline_flc_ratio_sent, round(p.baseline_kappa / nullif(p.baseline_lambda, 0), 4)) as baseline_flc_ratio
    from pivoted as p
),

involved as (
    select
        f.*,
        case
            when f.baseline_flc_ratio > {{ var('flc_ratio_high') }} then 'KAPPA'
            when f.baseline_flc_ratio < {{ var('flc_ratio_low') }} then 'LAMBDA'
            when f.baseline_kappa >= f.baseline_lambda then 'KAPPA'
            when f.baseline_lambda > f.baseline_kappa then 'LAMBDA'
        end as involved_chain,
        f.baseline_flc_ratio < {{ var('flc_ratio_low') }} or f.baseline_flc_ratio > {{ var('flc_ratio_high') }} as flc_ratio_abnormal
    from flc as f
),

measurable as (
    select
        i.*,
        case i.involved_chain when 'KAPPA' then i.baseline_kappa when 'LAMBDA' then i.baseline_lambda end as baseline_involved_flc,
        coalesce(i.baseline_serum_m >= {{ var('e6_serum_m_min') }}, false) as serum_measurable,
        coalesce(i.baseline_urine_m >= {{ var('e6_urine_m_min') }}, false) as urine_measurable
    from involved as i
)

select
    m.usubjid,
    m.baseline_serum_m,
    m.baseline_serum_m_date,
    m.baseline_urine_m,
    m.baseline_urine_m_date,
    m.baseline_kappa,
    m.baseline_lambda,
    m.baseline_flc_ratio,
    m.involved_chain,
    m.baseline_involved_flc,
    m.flc_ratio_abnormal,
    m.baseline_b2m,
    m.baseline_albumin,
    m.baseline_bmpc,
    m.serum_measurable,
    m.urine_measurable,
    coalesce(m.baseline_involved_flc >= {{ var('e6_iflc_min') }} and m.flc_ratio_abnormal, false) as flc_measurable,
    case
        when m.serum_measurable and m.urine_measurable then 'SERUM+URINE'
        when m.serum_measurable then 'SERUM'
        when m.urine_measurable then 'URINE'
        when coalesce(m.baseline_involved_flc >= {{ var('e6_iflc_min') }} and m.flc_ratio_abnormal, false) then 'FLC'
    end as measurable_disease_type,
    case
        when m.baseline_b2m is null then null
        when m.baseline_b2m >= {{ var('iss_b2m_high') }} then 'III'
        when m.baseline_b2m < {{ var('iss_b2m_low') }} and m.baseline_albumin is null then null
        when m.baseline_b2m < {{ var('iss_b2m_low') }} and m.baseline_albumin >= {{ var('iss_albumin') }} then 'I'
        else 'II'
    end as iss_stage
from measurable as m
