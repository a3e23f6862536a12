{#-
  One row per subject and carfilzomib cycle: body-surface area and the dose given against
  the planned mg/m2 x BSA (domain.md 5 "Vital signs and body weight", domain.md 3).
  Steps:
    1. weight: the latest WEIGHT (kg) on or before the cycle's day 1; height: the latest
       HEIGHT (cm) on or before it, else the subject's first HEIGHT (measured once, at
       screening); a cycle without a prior weight or any height has no BSA;
    2. BSA (Mosteller) = sqrt(height cm x weight kg / 3600), m2;
    3. planned dose (mg, one administration) = the cycle's dose level (mg/m2) x BSA;
    4. dose given (mg, mean of the cycle's given administrations): EXDOSE x BSA when EXDOSU is
       mg/m2, EXDOSE as sent when it is mg;
    5. difference = 100 x (given - planned) / planned; over var bsa_dose_tolerance_pct (10)
       in absolute value it is listed (is_dose_off_bsa).
-#}
with cycles as (
    select
        usubjid,
        cycle,
        phase,
        cycle_start_date,
        dose_level,
        doses_given
    from {{ ref('int_exposure__cycles') }}
),

doses as (
    select
        usubjid,
        cycle,
        exdose,
        lower(replace(exdosu, ' ', '')) as exdosu
    from {{ ref('int_exposure__study_drug_cycles') }}
    where is_given
),

vital_signs as (
    select
        usubjid,
        vstestcd,
        vsdt,
        aval
    from {{ ref('int_safety__vital_signs') }}
    where vstestcd in ('WEIGHT', 'HEIGHT')
),

latest_before_cycle as (
    {#- per subject, each cycle's weights and heights on or before its day 1, the latest first
        per test: an equi-join on the subject (hash) then a window, so the work grows with the
        subjects, not their square -#}
    select
        c.usubjid,
        c.cycle,
        v.vstestcd,
        v.vsdt,
        v.aval,
        row_number() over (
            partition by c.usubjid, c.cycle, v.vstestcd order by v.vsdt desc, v.aval desc
        ) as pick
    from cycles as c
    inner join vital_signs as v
        on c.usubjid = v.usubjid and c.cycle_start_date >= v.vsdt
),

first_height as (
    select
        usubjid,
        aval,
        row_number() over (partition by usubjid order by vsdt asc, aval desc) as pick
    from vital_signs
    where vstestcd = 'HEIGHT'
),

measured as (
    select
        c.usubjid,
        c.cycle,
        w.vsdt as weight_date,
        w.aval as weight_kg,
        coalesce(hb.aval, hf.aval) as height_cm
    from cycles as c
    left join latest_before_cycle as w
        on c.usubjid = w.usubjid and c.cycle = w.cycle and w.vstestcd = 'WEIGHT' and w.pick = 1
    left join latest_before_cycle as hb
        on c.usubjid = hb.usubjid and c.cycle = hb.cycle and hb.vstestcd = 'HEIGHT' and hb.pick = 1
    left join first_height as hf on c.usubjid = hf.usubjid and hf.pick = 1
),

with_bsa as (
    select
        c.usubjid,
        c.cycle,
        c.phase,
        c.cycle_start_date,
        c.dose_level,
        c.doses_given,
        m.weight_date,
        m.weight_kg,
        m.height_cm,
        sqrt(m.height_cm * m.weight_kg / 3600.0) as bsa_m2
    from cycles as c
    left join measured as m on c.usubjid = m.usubjid and c.cycle = m.cycle
),

given as (
    select
        b.usubjid,
        b.cycle,
        avg(
            case
                when d.exdosu = 'mg' then d.exdose
                when d.exdosu in ('mg/m2', 'mg/m^2', 'mg/m²') then d.exdose * b.bsa_m2
            end
        ) as dose_given_mg
    from with_bsa as b
    inner join doses as d on b.usubjid = d.usubjid and b.cycle = d.cycle
    group by b.usubjid, b.cycle
)

select
    b.usubjid,
    b.cycle,
    b.phase,
    b.cycle_start_date,
    b.weight_kg,
    b.weight_date,
    b.height_cm,
    b.bsa_m2,
    b.dose_level as dose_level_mg_m2,
    b.dose_level * b.bsa_m2 as planned_dose_mg,
    b.doses_given,
    g.dose_given_mg,
    100 * (g.dose_given_mg - b.dose_level * b.bsa_m2) / nullif(b.dose_level * b.bsa_m2, 0) as dose_difference_pct,
    coalesce(
        abs(100 * (g.dose_given_mg - b.dose_level * b.bsa_m2) / nullif(b.dose_level * b.bsa_m2, 0))
        > {{ var('bsa_dose_tolerance_pct') }},
        false
    ) as is_dose_off_bsa
from with_bsa as b
left join given as g on b.usubjid = g.usubjid and b.cycle = g.cycle
