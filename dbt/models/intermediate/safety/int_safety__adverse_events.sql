{#-
  int_safety__adverse_events: one row per AE (USUBJID, AESPID) with TEAE, DLT-window and DLT
  flags (domain.md 5; every threshold and term list is a var). The derivation behind
  fct_adverse_events; dim_subject counts DLTs from it.
  Steps:
    1. treatment-emergent: onset on/after the first dose and <= teae_days_after_last_dose
       after the last dose (worsening of a pre-existing AE is not derivable from AE alone);
    2. DLT window: dose-escalation cohort, onset on days 1..dlt_window_days from the first dose;
    3. related: AEREL in dlt_related_values;
    4. DLT rules, each only for related AEs in the window:
       a. non-haematologic grade >= dlt_nonhaem_min_grade, except grade 3 nausea/vomiting/
          diarrhoea that resolved within dlt_gi_resolve_days (AEENDT - AESTDT <=
          dlt_gi_resolve_days); an AE with no end date (ongoing at the data cut) has not
          resolved, so an ongoing grade 3 N/V/D is a DLT;
       b. grade 4 neutropenia lasting more than dlt_neutropenia_min_days, the duration counted
          in days inclusive (AEENDT - AESTDT + 1: onset day 1 to end day 8 lasted 8 days); with
          no end date the neutropenia is ongoing at the data cut and has not resolved, so it
          counts as lasting more than dlt_neutropenia_min_days (a DLT), the same rule as a.;
       c. febrile neutropenia;
       d. grade 4 thrombocytopenia, or grade 3 with a bleeding AE overlapping it;
       e. an AE that interrupted/delayed the drug (AEACN) when cycle 2 started more than
          dlt_cycle2_delay_days late;
    5. is_dlt with the first rule that applied, next to the investigator's AEDLT.
-#}
with ae as (
    select * from {{ ref('stg_sdtm__ae') }}
    where is_usable
),

dm as (
    select
        usubjid,
        cohort
    from {{ ref('stg_sdtm__dm') }}
),

treatment as (
    select
        usubjid,
        trtsdt,
        trtedt,
        cycle2_delay_days
    from {{ ref('int_subject__treatment') }}
),

bleeding as (
    select
        usubjid,
        aestdt,
        coalesce(aeendt, aestdt) as aeendt
    from ae
    where upper(coalesce(aedecod, aeterm)) ~ '{{ var("dlt_bleeding_pattern") }}'
),

flagged as (
    select
        ae.*,
        dm.cohort,
        t.trtsdt,
        t.trtedt,
        t.cycle2_delay_days,
        {{ adam_study_day('ae.aestdt', 't.trtsdt') }} as aestdy,
        coalesce(ae.aestdt >= t.trtsdt and ae.aestdt <= t.trtedt + {{ var('teae_days_after_last_dose') }}, false) as is_teae,
        coalesce(
            dm.cohort = '{{ var("dlt_cohort") }}' and ae.aestdt >= t.trtsdt
            and ae.aestdt <= t.trtsdt + {{ var('dlt_window_days') }} - 1, false
        ) as in_dlt_window,
        coalesce(ae.aerel in ({% for v in var('dlt_related_values') %}'{{ v }}'{{ "," if not loop.last }}{% endfor %}), false) as is_related,
        (ae.aeendt - ae.aestdt) as duration_days,
        ae.aeendt is null as is_ongoing,
        ae.aedecod in ({% for v in var('dlt_haem_terms') %}'{{ v }}'{{ "," if not loop.last }}{% endfor %}) as is_haematologic
    from ae
    left join dm using (usubjid)
    left join treatment as t using (usubjid)
),

rules as (
    select
        f.*,
        case
            when not (f.in_dlt_window and f.is_related) then null
            when f.aedecod in ({% for v in var('dlt_febrile_neutropenia_terms') %}'{{ v }}'{{ "," if not loop.last }}{% endfor %})
                then 'febrile neutropenia'
            when f.aedecod in ({% for v in var('dlt_neutropenia_terms') %}'{{ v }}'{{ "," if not loop.last }}{% endfor %})
                and f.aetoxgr >= 4 and (f.is_ongoing or f.duration_days + 1 > {{ var('dlt_neutropenia_min_days') }})
                then 'grade 4 neutropenia > {{ var("dlt_neutropenia_min_days") }} days'
            when f.aedecod in ({% for v in var('dlt_thrombocytopenia_terms') %}'{{ v }}'{{ "," if not loop.last }}{% endfor %})
                and f.aetoxgr >= 4
                then 'grade 4 thrombocytopenia'
            when f.aedecod in ({% for v in var('dlt_thrombocytopenia_terms') %}'{{ v }}'{{ "," if not loop.last }}{% endfor %})
                and f.aetoxgr = 3
                and exists (
                    select 1 from bleeding as b
                    where b.usubjid = f.usubjid
                        and b.aestdt <= coalesce(f.aeendt, f.aestdt + 3650) and b.aeendt >= f.aestdt
                )
                then 'grade 3 thrombocytopenia with bleeding'
            when not f.is_haematologic and f.aetoxgr >= {{ var('dlt_nonhaem_min_grade') }}
                and not (
                    f.aetoxgr = 3 and f.aedecod in ({% for v in var('dlt_gi_terms') %}'{{ v }}'{{ "," if not loop.last }}{% endfor %})
                    and not f.is_ongoing and f.duration_days <= {{ var('dlt_gi_resolve_days') }}
                )
                then 'non-haematologic grade >= {{ var("dlt_nonhaem_min_grade") }}'
            when f.aeacn in ({% for v in var('dlt_delay_aeacn') %}'{{ v }}'{{ "," if not loop.last }}{% endfor %})
                and f.cycle2_delay_days > {{ var('dlt_cycle2_delay_days') }}
                then 'delayed cycle 2 by > {{ var("dlt_cycle2_delay_days") }} days'
        end as dlt_rule
    from flagged as f
)

select
    usubjid,
    aespid,
    aeseq,
    aeterm,
    aedecod,
    aebodsys,
    aestdtc,
    aestdt,
    aeendtc,
    aeendt,
    aestdy::integer as aestdy,
    duration_days::integer as duration_days,
    is_ongoing,
    aetoxgr::integer as aetoxgr,
    grade_source,
    aesev,
    aeser = 'Y' as is_serious,
    aerel,
    is_related,
    aeacn,
    aeout,
    is_teae,
    case when is_teae then 'Y' end as trtemfl,
    in_dlt_window,
    dlt_rule is not null as is_dlt,
    dlt_rule,
    aedlt as investigator_dlt,
    case when aedlt in ('Y', 'N') then (aedlt = 'Y') = (dlt_rule is not null) end as dlt_agrees_with_investigator,
    ae_record_key
from rules
