{#-
  The date each subject's baseline and eligibility are evaluated at.
  Steps: first study dose (trtsdt); else DM.RFSTDTC; else null (untreated subjects without
  a reference date are judged on all data received).
-#}
select
    dm.usubjid,
    t.trtsdt,
    dm.rfstdt,
    coalesce(t.trtsdt, dm.rfstdt) as reference_date,
    case when t.trtsdt is not null then 'first study dose'
        when dm.rfstdt is not null then 'DM.RFSTDTC'
        else 'none (all data)'
    end as reference_date_source
from {{ ref('stg_sdtm__dm') }} as dm
left join {{ ref('int_subject__treatment') }} as t using (usubjid)
