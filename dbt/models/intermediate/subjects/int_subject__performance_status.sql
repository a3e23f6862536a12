{#-
  Per subject with a first study dose: ECOG performance status at baseline and its worst
  after it (domain.md 5 "ECOG performance status"; RS RSTESTCD ECOG, values 0-4).
  Steps:
  1. the usable ECOG records with a valid value (0-4) and a date;
  2. baseline: the last one on or before the first study dose (the latest date; ties: the
     highest value, the worse one);
  3. worst post-baseline: the highest value dated after the first dose;
  4. the shift, when both are known: 'worsened' (worst higher than baseline), 'unchanged'
     (equal) or 'improved' (every post-baseline value lower).
-#}
with performance_status as (
    select
        usubjid,
        rsdt,
        rsstresc::integer as ecog
    from {{ ref('stg_sdtm__rs') }}
    where
        is_usable
        and rstestcd = 'ECOG'
        and rsdt is not null
        and rsstresc ~ '^[0-4]$'
),

treatment as (
    select
        usubjid,
        trtsdt
    from {{ ref('int_subject__treatment') }}
    where trtsdt is not null
),

baseline as (
    select distinct on (t.usubjid)
        t.usubjid,
        p.ecog as ecog_baseline,
        p.rsdt as ecog_baseline_date
    from treatment as t
    inner join performance_status as p
        on t.usubjid = p.usubjid and t.trtsdt >= p.rsdt
    order by t.usubjid asc, p.rsdt desc, p.ecog desc
),

post as (
    select
        t.usubjid,
        max(p.ecog) as ecog_worst_post,
        count(*) as n_post_assessments
    from treatment as t
    inner join performance_status as p
        on t.usubjid = p.usubjid and t.trtsdt < p.rsdt
    group by t.usubjid
)

select
    t.usubjid,
    b.ecog_baseline,
    b.ecog_baseline_date,
    p.ecog_worst_post,
    coalesce(p.n_post_assessments, 0) as n_post_assessments,
    case
        when b.ecog_baseline is null or p.ecog_worst_post is null then null
        when p.ecog_worst_post > b.ecog_baseline then 'worsened'
        when p.ecog_worst_post = b.ecog_baseline then 'unchanged'
        else 'improved'
    end as ecog_shift
from treatment as t
left join baseline as b on t.usubjid = b.usubjid
left join post as p on t.usubjid = p.usubjid
