{#-
  One row per usable EX record with what it means for dosing.
  Steps:
    1. study_drug_present: does the study drug (var study_drug) appear in EX at all? When it
       does not (e.g. the CDISC pilot), every EX record counts as study treatment, so first
       and last dose dates still populate;
    2. is_study_treatment: the record is study treatment (study drug, or any drug in the
       fallback); is_partner: another drug given on study;
    3. is_held: EXADJ says the dose was held, or the dose is 0 for the study drug;
    4. is_dose_given: a dose of ANY study drug (carfilzomib or a partner drug) actually given:
       not held and EXDOSE > 0 (domain.md 2). The first such date is the first study dose
       (TRTSDT) and the last the last dose (TRTEDT), everywhere: a carfilzomib dose held on
       C1D1 while the partners are given does not move them. (Fallback without the study
       drug in EX: any record not held, so a zero-dose placebo still counts as treatment.)
    5. exposure_end_date: EXENDTC; when it is missing on a continuing regimen (EXDOSFRQ in var
       continuing_dose_frequencies, e.g. QD) the exposure runs to the subject's end of
       participation (DM.RFENDTC, when sent and not before EXSTDTC); else EXSTDTC;
    6. administrations: how many doses the record stands for. A record at a per-day frequency
       (EXDOSFRQ in var dose_frequency_per_day: QD 1, BID 2, ..., QOD 0.5) spans its days,
       EXSTDTC..exposure_end_date: days x doses a day (QOD: every other day, the first
       included); any other frequency (ONCE, not sent) is one administration;
       record_dose = EXDOSE x administrations (the dose the record delivered, EXDOSU units).
-#}
with ex as (
    select * from {{ ref('stg_sdtm__ex') }}
    where is_usable
),

dm as (
    select
        usubjid,
        rfendt
    from {{ ref('stg_sdtm__dm') }}
),

presence as (
    select count(*) filter (where drug = '{{ var("study_drug") }}') > 0 as study_drug_present from ex
),

flagged as (
    select
        ex.usubjid,
        ex.ex_record_key,
        ex.drug,
        ex.drug_class,
        ex.exdose,
        ex.exdosu,
        ex.exstdt,
        ex.exendt,
        case when ex.exendtc is null and ex.exdosfrq in ({% for f in var('continuing_dose_frequencies') %}'{{ f }}'{{ "," if not loop.last }}{% endfor %})
                and dm.rfendt >= ex.exstdt
                then dm.rfendt
            else ex.exendt
        end as exposure_end_date,
        ex.exdosfrq,
        ex.visit,
        ex.cycle as visit_cycle,
        ex.cycle_day as visit_day,
        ex.epoch,
        ex.exadj,
        p.study_drug_present,
        case when p.study_drug_present then ex.drug = '{{ var("study_drug") }}' else true end as is_study_treatment,
        p.study_drug_present and ex.drug <> '{{ var("study_drug") }}' as is_partner,
        coalesce(upper(ex.exadj) ~ '{{ var("held_dose_pattern") }}', false)
        or (ex.drug = '{{ var("study_drug") }}' and coalesce(ex.exdose, 0) = 0) as is_held
    from ex
    cross join presence as p
    left join dm using (usubjid)
),

administered as (
    select
        f.*,
        case f.exdosfrq {% for frequency, per_day in var('dose_frequency_per_day').items() %}when '{{ frequency }}' then {{ per_day }} {% endfor %}end as doses_per_day,
        f.exposure_end_date - f.exstdt + 1 as exposure_days
    from flagged as f
),

counted as (
    select
        a.*,
        case when a.doses_per_day is not null and a.exposure_days >= 1
                then ceil(a.exposure_days * a.doses_per_day)
            else 1
        end::numeric as administrations
    from administered as a
),

final as (
    select
        c.usubjid,
        c.ex_record_key,
        c.drug,
        c.drug_class,
        c.exdose,
        c.exdosu,
        c.exstdt,
        c.exendt,
        c.exposure_end_date,
        c.exdosfrq,
        c.visit,
        c.visit_cycle,
        c.visit_day,
        c.epoch,
        c.exadj,
        c.study_drug_present,
        c.is_study_treatment,
        c.is_partner,
        c.is_held,
        c.administrations,
        c.exdose * c.administrations as record_dose,
        not c.is_held and (not c.study_drug_present or coalesce(c.exdose, 0) > 0) as is_dose_given
    from counted as c
)

select * from final
