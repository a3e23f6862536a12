{#-
  IMWG category at each assessment (domain.md section 4), from int_response__assessment_inputs only.
  Steps:
    1. driving parameters (measurable at baseline): serum M >= response_measurable_serum_m,
       urine M >= response_measurable_urine_m; if neither, dFLC (involved FLC >=
       response_measurable_iflc with an abnormal ratio); if none of those, BMPC (baseline >=
       response_measurable_bmpc);
    2. dFLC = involved - uninvolved FLC; percent change from baseline;
    3. running nadir = lowest of the baseline and all earlier assessments; change from nadir;
    4. PD: a driving parameter rises >= response_pd_pct % from its nadir with its absolute
       minimum (serum 0.5 g/dL; with a nadir >= 5 g/dL a 1.0 g/dL rise suffices; urine 200 mg/24h; dFLC > 10 mg/dL;
       BMPC 10 points), or the skeletal survey shows progression;
    5. NE when a driving parameter was not measured (and no PD);
    6. otherwise the best of: sCR (CR + normal FLC ratio), CR (negative serum and urine
       immunofixation + post-baseline marrow BMPC < 5 % on or before; without such a marrow
       the result is VGPR with a reason), VGPR, PR, MR, else SD; when serum and urine both
       drive, both must meet the category.
-#}
{%- set pd_pct = var('response_pd_pct') -%}
with inputs as (
    select * from {{ ref('int_response__assessment_inputs') }}
),

derived as (
    select
        i.*,
        case when i.involved_chain = 'LAMBDA' then i.lambda_flc - i.kappa_flc else i.kappa_flc - i.lambda_flc end as dflc,
        case when i.involved_chain = 'LAMBDA' then i.base_lambda - i.base_kappa else i.base_kappa - i.base_lambda end as base_dflc,
        case when i.involved_chain = 'LAMBDA' then i.base_lambda else i.base_kappa end as base_involved_flc,
        coalesce(i.base_serum_m >= {{ var('response_measurable_serum_m') }}, false) as serum_drives,
        coalesce(i.base_urine_m >= {{ var('response_measurable_urine_m') }}, false) as urine_drives
    from inputs as i
),

driving as (
    select
        d.*,
        not d.serum_drives and not d.urine_drives
        and coalesce(
            d.base_involved_flc >= {{ var('response_measurable_iflc') }}
            and (d.base_flc_ratio < {{ var('response_flc_ratio_low') }} or d.base_flc_ratio > {{ var('response_flc_ratio_high') }}), false)
            as flc_drives
    from derived as d
),

typed as (
    select
        d.*,
        not d.serum_drives and not d.urine_drives and not d.flc_drives
        and coalesce(d.base_bmpc >= {{ var('response_measurable_bmpc') }}, false) as bmpc_drives
    from driving as d
),

nadirs as (
    select
        t.*,
        least(t.base_serum_m, min(t.serum_m) over w_prior) as serum_m_nadir,
        least(t.base_urine_m, min(t.urine_m) over w_prior) as urine_m_nadir,
        least(t.base_dflc, min(t.dflc) over w_prior) as dflc_nadir,
        least(t.base_bmpc, min(t.bmpc) over w_prior) as bmpc_nadir,
        -- the latest post-baseline marrow on or before this assessment (this one included)
        (array_remove(array_agg(t.bmpc) over w_upto, null))[
            cardinality(array_remove(array_agg(t.bmpc) over w_upto, null))
        ] as last_post_baseline_bmpc
    from typed as t
    window
        w_prior as (
            partition by t.usubjid order by t.assessment_date, t.assessment_seq
            rows between unbounded preceding and 1 preceding
        ),
        w_upto as (
            partition by t.usubjid order by t.assessment_date, t.assessment_seq
            rows between unbounded preceding and current row
        )
),

flags as (
    select
        n.*,
        -- PD (step 4): rise >= pd_pct % from the nadir and the absolute minimum
        -- serum: >= 25 % and >= 0.5 g/dL; when the nadir is >= 5 g/dL a rise of >= 1.0 g/dL is
        -- enough on its own (IMWG; 25 % of >= 5 would always exceed 1.0 otherwise)
        coalesce(n.serum_drives and (
            (
                n.serum_m >= n.serum_m_nadir * (1 + {{ pd_pct }} / 100.0)
                and n.serum_m - n.serum_m_nadir >= {{ var('response_pd_serum_abs') }}
            )
            or (
                n.serum_m_nadir >= {{ var('response_pd_serum_high_nadir') }}
                and n.serum_m - n.serum_m_nadir >= {{ var('response_pd_serum_abs_high_nadir') }}
            )
        ), false) as pd_serum,
        coalesce(
            n.urine_drives and n.urine_m >= n.urine_m_nadir * (1 + {{ pd_pct }} / 100.0)
            and n.urine_m - n.urine_m_nadir >= {{ var('response_pd_urine_abs') }}, false
        ) as pd_urine,
        coalesce(
            n.flc_drives and n.dflc >= n.dflc_nadir * (1 + {{ pd_pct }} / 100.0)
            and n.dflc - n.dflc_nadir > {{ var('response_pd_dflc_abs') }}, false
        ) as pd_dflc,
        coalesce(
            n.bmpc_drives and n.bmpc >= n.bmpc_nadir * (1 + {{ pd_pct }} / 100.0)
            and n.bmpc - n.bmpc_nadir >= {{ var('response_pd_bmpc_abs') }}, false
        ) as pd_bmpc,
        coalesce(n.skeletal_progression, false) as pd_imaging,
        -- step 5: a driving parameter not measured
        (n.serum_drives and n.serum_m is null) or (n.urine_drives and n.urine_m is null)
        or (n.flc_drives and n.dflc is null) or (n.bmpc_drives and n.bmpc is null)
        or not (n.serum_drives or n.urine_drives or n.flc_drives or n.bmpc_drives) as is_missing_needed,
        -- step 6
        coalesce(n.serum_ife = 'NEGATIVE' and n.urine_ife = 'NEGATIVE', false) as ife_negative,
        coalesce(n.last_post_baseline_bmpc < {{ var('response_cr_bmpc_max') }}, false) as marrow_cr,
        coalesce(n.flc_ratio between {{ var('response_flc_ratio_low') }} and {{ var('response_flc_ratio_high') }}, false) as flc_ratio_normal,
        (n.serum_drives or n.urine_drives) and (
            (
                (not n.serum_drives or n.serum_m <= n.base_serum_m * (1 - {{ var('response_vgpr_serum_pct') }} / 100.0))
                and (not n.urine_drives or n.urine_m < {{ var('response_vgpr_urine_max') }})
                and coalesce(n.urine_m < {{ var('response_vgpr_urine_max') }}, true)
            )
            or (
                coalesce(n.serum_ife = 'POSITIVE' or n.urine_ife = 'POSITIVE', false)
                and (not n.serum_drives or n.serum_m = 0) and (not n.urine_drives or n.urine_m = 0)
            )
        ) as meets_vgpr,
        case
            when n.serum_drives or n.urine_drives
                then
                    (not n.serum_drives or n.serum_m <= n.base_serum_m * (1 - {{ var('response_pr_serum_pct') }} / 100.0))
                    and (
                        not n.urine_drives or n.urine_m <= n.base_urine_m * (1 - {{ var('response_pr_urine_pct') }} / 100.0)
                        or n.urine_m < {{ var('response_pr_urine_max') }}
                    )
            when n.flc_drives then n.dflc <= n.base_dflc * (1 - {{ var('response_pr_dflc_pct') }} / 100.0)
            when n.bmpc_drives then n.bmpc <= n.base_bmpc * (1 - {{ var('response_pr_bmpc_pct') }} / 100.0)
            else false
        end as meets_pr,
        (n.serum_drives or n.urine_drives)
        and (not n.serum_drives or n.serum_m <= n.base_serum_m * (1 - {{ var('response_mr_serum_pct') }} / 100.0))
        and (not n.urine_drives or n.urine_m <= n.base_urine_m * (1 - {{ var('response_mr_urine_pct') }} / 100.0))
            as meets_mr
    from nadirs as n
),

final as (
    select
        f.*,
        f.pd_serum or f.pd_urine or f.pd_dflc or f.pd_bmpc or f.pd_imaging as is_pd,
        case
            when f.pd_serum or f.pd_urine or f.pd_dflc or f.pd_bmpc or f.pd_imaging then 'PD'
            when f.is_missing_needed then 'NE'
            when f.ife_negative and f.marrow_cr and f.flc_ratio_normal then 'sCR'
            when f.ife_negative and f.marrow_cr then 'CR'
            when f.ife_negative and f.last_post_baseline_bmpc is null then 'VGPR'
            when coalesce(f.meets_vgpr, false) then 'VGPR'
            when coalesce(f.meets_pr, false) then 'PR'
            when coalesce(f.meets_mr, false) then 'MR'
            else 'SD'
        end as category,
        case
            when not (f.pd_serum or f.pd_urine or f.pd_dflc or f.pd_bmpc or f.pd_imaging) and not f.is_missing_needed
                and f.ife_negative and f.last_post_baseline_bmpc is null
                then 'CR criteria met but no post-baseline bone marrow on or before this assessment: reported as VGPR'
        end as cr_capped_reason,
        case
            -- imaging first: PD shown by a skeletal survey needs no confirmation (domain.md 4),
            -- also when the M-protein rose past the PD threshold at the same assessment
            when f.pd_imaging then 'IMAGING'
            when f.pd_serum or f.pd_urine or f.pd_dflc then 'M-PROTEIN'
            when f.pd_bmpc then 'MARROW'
        end as pd_source
    from flags as f
)

select
    usubjid,
    assessment_seq,
    visit,
    assessment_date,
    first_dose_date,
    new_therapy_date,
    death_date,
    death_from_pd,
    case when serum_drives and urine_drives then 'SERUM+URINE' when serum_drives then 'SERUM'
        when urine_drives then 'URINE' when flc_drives then 'FLC' when bmpc_drives then 'BMPC' else 'NONE'
    end as response_driver,
    serum_drives,
    urine_drives,
    flc_drives,
    bmpc_drives,
    serum_m,
    base_serum_m,
    round(100.0 * (serum_m - base_serum_m) / nullif(base_serum_m, 0), 2) as serum_m_pct_change,
    serum_m_nadir,
    serum_m - serum_m_nadir as serum_m_change_from_nadir,
    urine_m,
    base_urine_m,
    round(100.0 * (urine_m - base_urine_m) / nullif(base_urine_m, 0), 2) as urine_m_pct_change,
    urine_m_nadir,
    urine_m - urine_m_nadir as urine_m_change_from_nadir,
    kappa_flc,
    lambda_flc,
    flc_ratio,
    involved_chain,
    dflc,
    base_dflc,
    round(100.0 * (dflc - base_dflc) / nullif(base_dflc, 0), 2) as dflc_pct_change,
    dflc_nadir,
    dflc - dflc_nadir as dflc_change_from_nadir,
    serum_ife,
    urine_ife,
    bmpc,
    base_bmpc,
    round(100.0 * (bmpc - base_bmpc) / nullif(base_bmpc, 0), 2) as bmpc_pct_change,
    bmpc_nadir,
    bmpc - bmpc_nadir as bmpc_change_from_nadir,
    last_post_baseline_bmpc,
    skeletal_progression,
    pd_serum,
    pd_urine,
    pd_dflc,
    pd_bmpc,
    pd_imaging,
    pd_source,
    category,
    cr_capped_reason,
    investigator_response
from final
