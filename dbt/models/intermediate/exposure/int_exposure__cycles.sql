{#-
  int_exposure__cycles: one row per subject and study-drug cycle (domain.md 3); the
  derivation behind fct_cycles, here so that intermediate models (int_subject__treatment)
  read it without depending on a mart.
  Steps:
    1. group the subject's study-drug administrations by cycle (see
       int_exposure__study_drug_cycles); the cycle starts on its day-1 dose (given, else the
       day-1 record of a held dose: the visit took place and the partners may have been
       given; else the first given dose of the cycle) and lasts cycle_length_days;
    2. dose level: combination cycles use DM.DOSELVL (the highest dose given when DOSELVL is
       missing); maintenance cycles use the last dose given in the last combination cycle;
    3. planned = planned_doses_per_cycle doses at that level; delivered = sum of given doses;
       RDI = delivered / planned; reduced = given below the level; held = EXADJ/zero dose;
    4. delay = day 1 minus (previous cycle's day 1 + cycle length), null for the first cycle;
    5. partner drugs: other EX drugs given within the cycle's dates (or labelled with it).
-#}
with doses as (
    select * from {{ ref('int_exposure__study_drug_cycles') }}
),

partners as (
    select * from {{ ref('int_exposure__doses') }}
    where is_partner and not is_held
),

dm as (
    select
        usubjid,
        doselvl
    from {{ ref('stg_sdtm__dm') }}
),

cycle_base as (
    select
        usubjid,
        cycle,
        case when bool_or(phase = 'MAINTENANCE') then 'MAINTENANCE' else 'COMBINATION' end as phase,
        coalesce(
            min(exstdt) filter (where visit_day = 1 and is_given), min(exstdt) filter (where visit_day = 1),
            min(exstdt) filter (where is_given), min(exstdt)
        ) as cycle_start_date,
        count(*) filter (where is_given) as doses_given,
        count(*) filter (where is_held) as doses_held,
        coalesce(sum(exdose) filter (where is_given), 0) as delivered_mg_m2,
        max(exdose) filter (where is_given) as max_dose_given,
        (array_agg(exdose order by exstdt desc) filter (where is_given))[1] as last_dose_given
    from doses
    group by usubjid, cycle
),

last_combination as (
    select distinct on (usubjid)
        usubjid,
        last_dose_given as maintenance_dose_level
    from cycle_base
    where phase = 'COMBINATION'
    order by usubjid asc, cycle desc
),

levelled as (
    select
        c.*,
        case when c.phase = 'MAINTENANCE' then coalesce(lc.maintenance_dose_level, dm.doselvl, c.max_dose_given)
            else coalesce(dm.doselvl, c.max_dose_given)
        end as dose_level
    from cycle_base as c
    left join dm using (usubjid)
    left join last_combination as lc using (usubjid)
),

reduced as (
    select
        d.usubjid,
        d.cycle,
        count(*) filter (where d.is_given and d.exdose < l.dose_level - 0.0001) as doses_reduced
    from doses as d
    inner join levelled as l using (usubjid, cycle)
    group by d.usubjid, d.cycle
),

with_partners as (
    select
        l.usubjid,
        l.cycle,
        string_agg(distinct p.drug, ', ' order by p.drug) as partner_drugs_given
    from levelled as l
    inner join partners as p
        on l.usubjid = p.usubjid
            and (
                l.cycle = p.visit_cycle
                or (p.visit_cycle is null and p.exstdt between l.cycle_start_date and l.cycle_start_date + {{ var('cycle_length_days') }} - 1)
            )
    group by l.usubjid, l.cycle
),

final as (
    select
        l.usubjid,
        l.cycle,
        l.phase,
        l.cycle_start_date,
        (l.cycle_start_date + {{ var('cycle_length_days') }} - 1) as cycle_end_date,
        l.dose_level,
        {{ var('planned_doses_per_cycle') }}::integer as doses_planned,
        l.doses_given::integer as doses_given,
        l.doses_held::integer as doses_held,
        coalesce(r.doses_reduced, 0)::integer as doses_reduced,
        l.delivered_mg_m2,
        ({{ var('planned_doses_per_cycle') }} * l.dose_level) as planned_mg_m2,
        round(l.delivered_mg_m2 / nullif({{ var('planned_doses_per_cycle') }} * l.dose_level, 0), 4) as relative_dose_intensity,
        (l.cycle_start_date - (lag(l.cycle_start_date) over (partition by l.usubjid order by l.cycle) + {{ var('cycle_length_days') }}))::integer as delay_days,
        wp.partner_drugs_given
    from levelled as l
    left join reduced as r using (usubjid, cycle)
    left join with_partners as wp using (usubjid, cycle)
)

select * from final
