{#-
  ADSL: one row per subject in DM (screen failures included, with SAFFL/ITTFL null).
  Every variable is the ADaM name of a dim_subject column (one derivation, two shapes):
    1. identifiers, demographics, ARM/ARMCD from DM (dim_subject);
    2. TRT01P = ARM; TRT01A = ARM for treated subjects (the feed contract carries no ACTARM);
    3. TRTSDT/TRTEDT = dim_subject first/last dose (int_subject__treatment); TRTDURD =
       TRTEDT - TRTSDT + 1; CUMDOSE = dim_subject.cumulative_dose (each record's dose x
       administrations, ADEX TOTDOSE); AVGDD = CUMDOSE / TRTDURD, 1 decimal;
    4. flags 'Y' or null: SAFFL, ITTFL (assigned to an arm: ARMCD present and not a
       screen-failure / not-assigned code, var adam_not_assigned_armcd), DTHFL, the trial's
       DLT-evaluable, response-evaluable, IMiD, eligibility, group-mismatch and maintenance flags.
-#}
with subjects as (
    select * from {{ ref('dim_subject') }}
),

final as (
    select
        s.studyid,
        s.usubjid,
        s.siteid,
        s.age,
        case when s.age is not null then 'YEARS' end as ageu,
        s.sex,
        s.race,
        s.armcd,
        s.arm,
        s.arm as trt01p,
        case when s.saffl then s.arm end as trt01a,
        s.first_dose_date as trtsdt,
        s.last_dose_date as trtedt,
        (s.last_dose_date - s.first_dose_date + 1) as trtdurd,
        s.cumulative_dose as cumdose,
        round(s.cumulative_dose / nullif(s.last_dose_date - s.first_dose_date + 1, 0), 1) as avgdd,
        {{ adam_flag('s.saffl') }} as saffl,
        {{ adam_flag("s.armcd is not null and s.armcd not in (" ~ "'" ~ var('adam_not_assigned_armcd') | join("', '") ~ "')") }} as ittfl,
        {{ adam_flag("s.dthfl = 'Y' or s.death_date is not null") }} as dthfl,
        s.death_date as dthdt,
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
    from subjects as s
)

select
    studyid::text as studyid,
    usubjid::text as usubjid,
    siteid::text as siteid,
    age::numeric as age,
    ageu::text as ageu,
    sex::text as sex,
    race::text as race,
    armcd::text as armcd,
    arm::text as arm,
    trt01p::text as trt01p,
    trt01a::text as trt01a,
    trtsdt::date as trtsdt,
    trtedt::date as trtedt,
    trtdurd::integer as trtdurd,
    cumdose::numeric as cumdose,
    avgdd::numeric as avgdd,
    saffl::text as saffl,
    ittfl::text as ittfl,
    dthfl::text as dthfl,
    dthdt::date as dthdt,
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
    mdtype::text as mdtype
from final
