{#-
  One row per usable CM record placed against the subject's treatment (domain.md 5
  "Concomitant medications").
  Steps:
    1. treatment dates: first and last study dose (int_subject__treatment TRTSDT/TRTEDT);
    2. on study: not prior myeloma therapy (CMCAT var prior_therapy_cmcat), the subject was
       treated, and the record starts between the first dose and var
       teae_days_after_last_dose (30) days after the last, or starts before the first dose
       (an empty start counts as before) and has no end date or ends on or after it;
       partial dates as staged (start imputed to the first day, end to the last day);
    3. new anti-myeloma therapy: not prior myeloma therapy, an anti-myeloma drug of the
       drug_synonyms seed (is_anti_myeloma), started after the first dose (the rule
       int_response__subject_context censors response at);
    4. drug name: the seed's drug, else CMDECOD, else CMTRT; class: the seed's drug class,
       else CMCLAS, else UNCODED.
-#}
with medications as (
    select * from {{ ref('stg_sdtm__cm') }}
    where is_usable
),

treatment as (
    select
        usubjid,
        trtsdt,
        trtedt
    from {{ ref('int_subject__treatment') }}
),

placed as (
    select
        m.usubjid,
        m._record_key as cm_record_key,
        m.cmseq,
        m.cmtrt,
        coalesce(m.drug, m.cmdecod, m.cmtrt) as cmdecod,
        coalesce(m.drug_class, m.cmclas, 'UNCODED') as cmclas,
        m.cmcat,
        m.is_prior_myeloma_therapy,
        m.is_anti_myeloma,
        m.cmdose,
        m.cmdosu,
        m.cmstdtc,
        m.cmstdt,
        m.cmendtc,
        m.cmendt,
        t.trtsdt,
        t.trtedt,
        not m.is_prior_myeloma_therapy and t.trtsdt is not null as is_candidate
    from medications as m
    left join treatment as t on m.usubjid = t.usubjid
)

select
    usubjid,
    cm_record_key,
    cmseq,
    cmtrt,
    cmdecod,
    cmclas,
    cmcat,
    is_prior_myeloma_therapy,
    is_anti_myeloma,
    cmdose,
    cmdosu,
    cmstdtc,
    cmstdt,
    cmendtc,
    cmendt,
    trtsdt,
    trtedt,
    coalesce(
        is_candidate
        and (
            (cmstdt >= trtsdt and cmstdt <= trtedt + {{ var('teae_days_after_last_dose') }})
            or (coalesce(cmstdt < trtsdt, true) and (cmendt is null or cmendt >= trtsdt))
        ),
        false
    ) as is_on_study,
    coalesce(is_candidate and is_anti_myeloma and cmstdt > trtsdt, false) as is_new_anti_myeloma_therapy
from placed
