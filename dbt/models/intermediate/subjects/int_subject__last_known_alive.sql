{#-
  The last date each treated subject is known alive (domain.md 4, OS censoring; ADSL LSTALVDT).
  Steps:
    1. every dated record of the subject: the last study dose (int_subject__treatment.trtedt),
       each usable lab result's date, each usable AE's start and end, each IMWG assessment;
    2. the latest of them;
    3. at most the death date (a record dated after the death does not make the subject alive).
-#}
with treatment as (
    select * from {{ ref('int_subject__treatment') }}
    where trtsdt is not null
),

context as (
    select
        usubjid,
        death_date
    from {{ ref('int_response__subject_context') }}
),

dated as (
    select
        usubjid,
        trtedt as record_date
    from treatment
    union all
    select
        usubjid,
        lbdt
    from {{ ref('stg_sdtm__lb') }}
    where is_usable and lbdt is not null
    union all
    select
        usubjid,
        greatest(aestdt, aeendt)
    from {{ ref('int_safety__adverse_events') }}
    union all
    select
        usubjid,
        assessment_date
    from {{ ref('int_response__confirmed_assessments') }}
),

latest as (
    select
        usubjid,
        max(record_date) as last_record_date
    from dated
    group by usubjid
)

select
    c.usubjid,
    c.death_date,
    case when c.death_date is not null then least(l.last_record_date, c.death_date)
        else l.last_record_date
    end as last_known_alive_date
from context as c
left join latest as l using (usubjid)
