{#-
  The investigator's confirmed best response: RS OVRLRESP (study epochs) through the same
  confirmation and best-response macros. PD counts as imaging PD when the same visit's
  skeletal survey shows progression.
-#}
with rs as (
    select
        r.usubjid,
        r.rsdt as assessment_date,
        r.visit,
        r.rsstresc as category,
        c.new_therapy_date,
        c.death_from_pd
    from {{ ref('stg_sdtm__rs') }} as r
    inner join {{ ref('int_response__subject_context') }} as c using (usubjid)
    where r.is_usable and r.rstestcd = 'OVRLRESP' and r.rsdt > c.first_dose_date
        and coalesce(r.epoch, '') <> '{{ var("prior_pd_epoch") }}'
        and r.rsstresc in ('sCR', 'CR', 'VGPR', 'PR', 'MR', 'SD', 'PD', 'NE')
),

skel as (
    select
        usubjid,
        visit,
        bool_or(upper(rsstresc) = 'PROGRESSION') as progression
    from {{ ref('stg_sdtm__rs') }}
    where is_usable and rstestcd = 'SKELSURV'
    group by 1, 2
),

prepared as (
    select
        rs.usubjid,
        rs.assessment_date,
        rs.category,
        rs.new_therapy_date,
        row_number() over (partition by rs.usubjid order by rs.assessment_date, rs.visit)::int as assessment_seq,
        coalesce(s.progression, false) as pd_by_imaging,
        rs.death_from_pd and rs.assessment_date = max(rs.assessment_date) filter (where rs.category <> 'NE')
            over (partition by rs.usubjid) as pd_death_confirms
    from rs
    left join skel as s on rs.usubjid = s.usubjid and rs.visit = s.visit
),

confirmed as (
    {{ imwg_confirm_responses('prepared') }}
)

select * from (
    {{ imwg_best_response('confirmed') }}
) as best
