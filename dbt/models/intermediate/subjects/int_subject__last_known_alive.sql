{#-
  The last date each subject in DM is known alive (domain.md 4, OS censoring), defined once
  here: published as dim_subject.last_known_alive_date, read by ADSL (LSTALVDT) and by the OS
  rows of int_response__time_to_event (ADTTE).
  Steps:
    1. every dated record of the subject: the last study dose (int_subject__treatment.trtedt),
       each usable lab result's date, each usable AE's start and end, each IMWG assessment;
    2. the latest of them (null when the subject has no dated record);
    3. at most the death date (a record dated after the death does not make the subject
       alive): int_response__subject_context's for a treated subject (DM.DTHDT, else a fatal
       AE), DM.DTHDT for the others.
-#}
with subjects as (
    select
        usubjid,
        dthdt
    from {{ ref('stg_sdtm__dm') }}
),

treatment as (
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
),

deaths as (
    select
        s.usubjid,
        coalesce(c.death_date, s.dthdt) as death_date
    from subjects as s
    left join context as c on s.usubjid = c.usubjid
)

select
    d.usubjid,
    d.death_date,
    case when d.death_date is not null then least(l.last_record_date, d.death_date)
        else l.last_record_date
    end as last_known_alive_date
from deaths as d
left join latest as l on d.usubjid = l.usubjid
