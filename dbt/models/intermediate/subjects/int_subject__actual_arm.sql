{#-
  Per subject in DM: DM.ACTARM when the exposure supports it as the treatment actually
  received (ADaMIG 1.3 TRT01A: the actual treatment; ADSL reads it through dim_subject).
  Steps:
    1. the doses each subject was given (int_exposure__doses, is_dose_given): drug and EXDOSE;
    2. each planned arm's regimen: every (drug, dose) given to its subjects treated as planned
       (DM.ACTARM equal to DM.ARM, or not sent);
    3. a subject's doses off the planned arm's regimen: given doses that no subject treated as
       planned on that arm was given;
    4. actarm_supported: DM.ACTARM when it equals ARM, or when the subject was given a dose
       off the planned arm's regimen (another treatment really was given); null when ACTARM
       is not sent, or names another arm while every dose given belongs to the planned arm's
       regimen (the CDISC pilot's 12 subjects randomised to the high dose who stopped during
       its 54 mg titration and are labelled low dose in DM.ACTARM: they received what the
       high-dose arm gives in its first weeks, so their actual treatment is the planned one).
-#}
with dm as (
    select
        usubjid,
        arm,
        actarm,
        upper(btrim(actarm)) = upper(btrim(arm)) as actarm_is_arm
    from {{ ref('stg_sdtm__dm') }}
),

given as (
    select distinct
        usubjid,
        drug,
        exdose
    from {{ ref('int_exposure__doses') }}
    where is_dose_given
),

arm_regimens as (
    select distinct
        d.arm,
        g.drug,
        g.exdose
    from given as g
    inner join dm as d on g.usubjid = d.usubjid
    where d.actarm is null or d.actarm_is_arm
),

off_regimen as (
    select
        g.usubjid,
        count(*) as n_doses_off_arm
    from given as g
    inner join dm as d on g.usubjid = d.usubjid
    left join arm_regimens as r
        on
            d.arm = r.arm
            and g.drug = r.drug
            and g.exdose is not distinct from r.exdose
    where r.arm is null
    group by g.usubjid
)

select
    d.usubjid,
    d.actarm,
    coalesce(o.n_doses_off_arm, 0) as n_doses_off_planned_arm,
    case when d.actarm_is_arm or coalesce(o.n_doses_off_arm, 0) > 0 then d.actarm end as actarm_supported
from dm as d
left join off_regimen as o on d.usubjid = o.usubjid
