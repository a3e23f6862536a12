{#-
  ADSL: one row per subject in DM (screen failures included, with SAFFL/ITTFL null).
  Every variable is the ADaM name of a dim_subject column (one derivation, two shapes):
    1. identifiers (SUBJID: DM.SUBJID, else USUBJID without the study prefix), demographics,
       ARM and ARMCD as sent (not recased), RFSTDTC/RFENDTC from DM (dim_subject); AGEGR1(N)
       by var adam_age_groups, RACEN by var adam_race_numbers;
    2. TRT01P = ARM; TRT01A = the treatment actually received, for treated subjects: DM.ACTARM
       when sent, an arm, and supported by the exposure (dim_subject.actarm_supported: equal to
       ARM, or a dose given that the planned arm's regimen does not give; ADaMIG 1.3 actual
       treatment), else the arm of the group the regimen given implies
       (dim_subject.derived_group: the armcd-mismatch subject assigned to A but given B's
       regimen is B), else ARM; TRT01PN/TRT01AN: var adam_treatment_numbers (by ARM), else
       the group letter (A 1, B 2), else the rank of the arm's name;
    3. TRTSDT/TRTEDT = dim_subject first/last dose (int_subject__treatment); TRTDURD =
       TRTEDT - TRTSDT + 1; CUMDOSE = dim_subject.cumulative_dose (each record's dose x
       administrations, ADEX TOTDOSE); AVGDD = CUMDOSE / TRTDURD, 1 decimal;
    4. LSTALVDT = dim_subject.last_known_alive_date (int_subject__last_known_alive: the latest
       of the last dose, lab result, AE start or end and response assessment dates, at most
       the death date; the date OS is censored at);
    5. flags 'Y' or null: SAFFL, ITTFL (assigned to an arm: ARMCD present and not a
       screen-failure / not-assigned code, var adam_not_assigned_armcd), DTHFL, the trial's
       DLT-evaluable, response-evaluable, IMiD, eligibility, group-mismatch and maintenance flags;
    6. EOTSTT/DCTREAS and EOSSTT/DCSREAS: end of treatment and of study with their reasons
       (fct_disposition, from DS: COMPLETED, DISCONTINUED or ONGOING); ECOGBL: ECOG at
       baseline (fct_performance_status: the last RS ECOG on or before the first dose).
    7. DCUTDT: the analysis cut's cutoff date (var cut_cutoff, macros/analysis_cut.sql); null in
       the live build, which applies no cutoff.
-#}
with subjects as (
    select * from {{ ref('dim_subject') }}
),

disposition as (
    select * from {{ ref('fct_disposition') }}
),

performance_status as (
    select * from {{ ref('fct_performance_status') }}
),

group_arms as (
    select
        "group",
        min(arm) as group_arm
    from subjects
    where "group" is not null and arm is not null
    group by "group"
),

actual as (
    select
        s.*,
        case when s.saffl then
                coalesce(
                    case when upper(s.actarm_supported) not in ({{ "'" ~ var('adam_not_treated_arms') | join("', '") ~ "'" }}) then s.actarm_supported end,
                    ga.group_arm,
                    s.arm
                )
        end as actual_arm
    from subjects as s
    left join group_arms as ga on s.derived_group = ga."group"
),

arm_names as (
    select distinct arm
    from subjects
    where arm is not null
),

arm_ranks as (
    select
        arm,
        dense_rank() over (order by arm) as arm_rank
    from arm_names
),

final as (
    select
        s.studyid,
        s.usubjid,
        s.subjid,
        s.siteid,
        s.age,
        case when s.age is not null then 'YEARS' end as ageu,
        case {% for label, below in var('adam_age_groups') %}when s.age {% if below is none %}is not null{% else %}< {{ below }}{% endif %} then '{{ label }}' {% endfor %}end as agegr1,
        case {% for label, below in var('adam_age_groups') %}when s.age {% if below is none %}is not null{% else %}< {{ below }}{% endif %} then {{ loop.index }} {% endfor %}end as agegr1n,
        s.sex,
        s.race,
        case upper(s.race) {% for race, n in var('adam_race_numbers').items() %}when '{{ race }}' then {{ n }} {% endfor %}end as racen,
        s.armcd_as_sent as armcd,
        s.arm,
        s.rfstdtc,
        s.rfendtc,
        s.arm as trt01p,
        {{ adam_treatment_number('s.arm', 'pr.arm_rank') }} as trt01pn,
        s.actual_arm as trt01a,
        {{ adam_treatment_number('s.actual_arm', 'ar.arm_rank') }} as trt01an,
        s.first_dose_date as trtsdt,
        s.last_dose_date as trtedt,
        (s.last_dose_date - s.first_dose_date + 1) as trtdurd,
        s.cumulative_dose as cumdose,
        round(s.cumulative_dose / nullif(s.last_dose_date - s.first_dose_date + 1, 0), 1) as avgdd,
        {{ adam_flag('s.saffl') }} as saffl,
        {{ adam_flag("s.armcd is not null and s.armcd not in (" ~ "'" ~ var('adam_not_assigned_armcd') | join("', '") ~ "')") }} as ittfl,
        {{ adam_flag("s.dthfl = 'Y' or s.death_date is not null") }} as dthfl,
        s.death_date as dthdt,
        {{ cut_cutoff_date() }} as dcutdt,
        s.last_known_alive_date as lstalvdt,
        s.doselvl,
        s.cohort,
        s."group" as grp,
        s.derived_group as drvgrp,
        {{ adam_flag('s.group_mismatch') }} as grpmmfl,
        {{ adam_flag('s.imid_regimen') }} as imidfl,
        s.iss_stage as issstg,
        {{ adam_flag('s.is_eligible') }} as eligfl,
        {{ adam_flag('s.dltevalfl') }} as dltevlfl,
        {{ adam_flag('s.respevalfl') }} as respevfl,
        {{ adam_flag('s.entered_maintenance') }} as mntfl,
        s.maintenance_start_date as mntsdt,
        s.measurable_disease_type as mdtype
    from actual as s
    left join arm_ranks as pr on s.arm = pr.arm
    left join arm_ranks as ar on s.actual_arm = ar.arm
),

with_disposition as (
    select
        f.*,
        d.eotstt,
        d.dctreas,
        d.eosstt,
        d.dcsreas,
        ps.ecog_baseline as ecogbl
    from final as f
    left join disposition as d on f.usubjid = d.usubjid
    left join performance_status as ps on f.usubjid = ps.usubjid
)

select
    studyid::text as studyid,
    usubjid::text as usubjid,
    subjid::text as subjid,
    siteid::text as siteid,
    age::numeric as age,
    ageu::text as ageu,
    agegr1::text as agegr1,
    agegr1n::numeric as agegr1n,
    sex::text as sex,
    race::text as race,
    racen::numeric as racen,
    armcd::text as armcd,
    arm::text as arm,
    rfstdtc::text as rfstdtc,
    rfendtc::text as rfendtc,
    trt01p::text as trt01p,
    trt01pn::numeric as trt01pn,
    trt01a::text as trt01a,
    trt01an::numeric as trt01an,
    trtsdt::date as trtsdt,
    trtedt::date as trtedt,
    trtdurd::integer as trtdurd,
    cumdose::numeric as cumdose,
    avgdd::numeric as avgdd,
    saffl::text as saffl,
    ittfl::text as ittfl,
    dthfl::text as dthfl,
    dthdt::date as dthdt,
    dcutdt::date as dcutdt,
    lstalvdt::date as lstalvdt,
    doselvl::numeric as doselvl,
    cohort::text as cohort,
    grp::text as grp,
    drvgrp::text as drvgrp,
    grpmmfl::text as grpmmfl,
    imidfl::text as imidfl,
    issstg::text as issstg,
    eligfl::text as eligfl,
    dltevlfl::text as dltevlfl,
    respevfl::text as respevfl,
    mntfl::text as mntfl,
    mntsdt::date as mntsdt,
    mdtype::text as mdtype,
    eotstt::text as eotstt,
    dctreas::text as dctreas,
    eosstt::text as eosstt,
    dcsreas::text as dcsreas,
    ecogbl::numeric as ecogbl
from with_disposition
