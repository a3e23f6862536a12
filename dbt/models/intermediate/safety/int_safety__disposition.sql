{#-
  Per subject in DM: end of treatment and end of study, each with its status and reason
  (domain.md 5 "Disposition"; ADSL EOTSTT/DCTREAS, EOSSTT/DCSREAS).
  Steps:
  1. classify each usable DS record: DSSCAT END OF TREATMENT -> end of treatment; DSSCAT
     END OF STUDY, or a DISPOSITION EVENT without DSSCAT (SDTM's study-level disposition, as
     in the CDISC pilot) -> end of study; other records (milestones, other events) are unused;
  2. per subject and kind keep the latest record (DSSTDT, then delivery, then line);
  3. status COMPLETED when DSDECOD is COMPLETED, else DISCONTINUED with DSDECOD as the
     reason; a subject without the record is ONGOING (reason null);
  4. a treated subject who ended the study without an end-of-treatment record ended
     treatment too: the study record stands for both; a subject never treated (a screen
     failure) has no end of treatment (null).
-#}
with subjects as (
    select usubjid from {{ ref('stg_sdtm__dm') }}
),

treatment as (
    select
        usubjid,
        trtsdt
    from {{ ref('int_subject__treatment') }}
),

disposition as (
    select * from {{ ref('stg_sdtm__ds') }}
    where is_usable
),

classified as (
    select
        usubjid,
        dsdecod,
        dsstdt,
        _delivery_id,
        _line,
        case
            when dsscat = 'END OF TREATMENT' then 'treatment'
            when dsscat = 'END OF STUDY' then 'study'
            when dsscat is null and dscat = 'DISPOSITION EVENT' then 'study'
        end as kind
    from disposition
),

latest as (
    select distinct on (usubjid, kind)
        usubjid,
        kind,
        dsdecod,
        dsstdt
    from classified
    where kind is not null
    order by usubjid asc, kind asc, dsstdt desc nulls last, _delivery_id desc, _line desc
),

per_subject as (
    select
        s.usubjid,
        t.trtsdt,
        eot.dsdecod as eot_decod,
        eot.dsstdt as eot_date,
        eos.dsdecod as eos_decod,
        eos.dsstdt as eos_date
    from subjects as s
    left join treatment as t on s.usubjid = t.usubjid
    left join latest as eot on s.usubjid = eot.usubjid and eot.kind = 'treatment'
    left join latest as eos on s.usubjid = eos.usubjid and eos.kind = 'study'
)

select
    usubjid,
    case
        when trtsdt is null then null
        when eot_decod is null and eos_decod is null then 'ONGOING'
        when coalesce(eot_decod, eos_decod) = 'COMPLETED' then 'COMPLETED'
        else 'DISCONTINUED'
    end as eotstt,
    case
        when trtsdt is not null and coalesce(eot_decod, eos_decod) <> 'COMPLETED'
            then coalesce(eot_decod, eos_decod)
    end as dctreas,
    case when trtsdt is not null then coalesce(eot_date, eos_date) end as eotdt,
    case
        when trtsdt is null then null
        when eot_decod is not null then 'END OF TREATMENT'
        when eos_decod is not null then 'END OF STUDY'
    end as eot_source,
    case
        when eos_decod is null then 'ONGOING'
        when eos_decod = 'COMPLETED' then 'COMPLETED'
        else 'DISCONTINUED'
    end as eosstt,
    case when eos_decod <> 'COMPLETED' then eos_decod end as dcsreas,
    eos_date as eosdt,
    trtsdt is not null as is_treated
from per_subject
