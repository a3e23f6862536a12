{#-
  ADLB (BDS): one row per lab result of fct_lab_results (one derivation, two shapes: AVAL,
  BASE, CHG, PCHG, ANRIND and the CTCAE grades are fct_lab_results' columns renamed).
  Steps:
    1. PARAMCD = LBTESTCD for blood-based specimens (var adam_blood_specimens, or none
       given); other specimens add their first two letters to the first six of the code
       (MPROTEIN in URINE -> MPROTEUR), so each PARAMCD is one test in one specimen;
       PARAM = test name, specimen when not blood-based, and the standard unit;
    2. ADT = collection date, ADY = CDISC study day (fct_lab_results.ady), AVISIT = VISIT;
    3. SRCDOM/SRCKEY: the source domain and fct_lab_results.lab_record_key;
    4. PARAMN = the rank of PARAMCD in the study (alphabetical); AVISITN = the rank of AVISIT
       by the median study day of its results (then its name), so visits sort in time;
       ASEQ = the record's sequence in the subject (by PARAMCD, ADT, SRCKEY), a key with
       USUBJID.
  Incremental by subject (macros/subject_scope.sql): an incremental build derives again the
  subjects of build_rederive_subjects only; PARAMN and AVISITN rank the whole study, so
  its post-hook ranks them again over the whole table and rewrites the rows whose rank moved
  (adam_study_ranks).
-#}
{{ subject_incremental_config() }}
{{ config(post_hook=["{{ adam_study_ranks([('paramn', 'paramcd', none), ('avisitn', 'avisit', 'ady')]) }}"]) }}
{%- set blood = "'" ~ var('adam_blood_specimens') | join("', '") ~ "'" %}
with labs as (
    select * from {{ ref('fct_lab_results') }}
    where {{ in_rederive_scope() }}
),

adsl as (
    select
        studyid,
        usubjid,
        trtsdt
    from {{ ref('adsl') }}
    where {{ in_rederive_scope() }}
),

coded as (
    select
        l.*,
        s.studyid,
        s.trtsdt,
        case when coalesce(upper(l.lbspec), 'BLOOD') in ({{ blood }}) then l.lbtestcd
            else left(l.lbtestcd, 6) || left(upper(l.lbspec), 2)
        end as paramcd,
        coalesce(upper(l.lbspec), 'BLOOD') in ({{ blood }}) as blood_based
    from labs as l
    left join adsl as s using (usubjid)
),

visits as (
    {{ ranks_by_median_day('coded', 'visit', 'ady', rank_column='avisitn') }}
),

params as (
    select
        paramcd,
        dense_rank() over (order by paramcd) as paramn
    from coded
    group by paramcd
),

sequenced as (
    select
        c.*,
        p.paramn,
        v.avisitn,
        row_number() over (partition by c.usubjid order by c.paramcd, c.lbdt, c.lab_record_key) as aseq
    from coded as c
    left join params as p on c.paramcd = p.paramcd
    left join visits as v on c.visit = v.visit
)

select
    studyid::text as studyid,
    usubjid::text as usubjid,
    aseq::integer as aseq,
    paramcd::text as paramcd,
    paramn::numeric as paramn,
    (
        coalesce(lbtest, lbtestcd)
        || case when blood_based then '' else ', ' || initcap(lbspec) end
        || case when avalu is not null then ' (' || avalu || ')' else '' end
    )::text as param,
    lbcat::text as parcat1,
    lbtestcd::text as lbtestcd,
    lbspec::text as lbspec,
    trtsdt::date as trtsdt,
    lbdt::date as adt,
    ady::integer as ady,
    visit::text as avisit,
    avisitn::numeric as avisitn,
    aval::numeric as aval,
    avalc::text as avalc,
    avalu::text as avalu,
    anrlo::numeric as anrlo,
    anrhi::numeric as anrhi,
    anrind::text as anrind,
    ablfl::text as ablfl,
    base::numeric as base,
    bnrind::text as bnrind,
    chg::numeric as chg,
    pchg::numeric as pchg,
    atoxgrl::text as atoxgrl,
    atoxgrh::text as atoxgrh,
    btoxgrl::text as btoxgrl,
    btoxgrh::text as btoxgrh,
    'LB'::text as srcdom,
    lab_record_key::text as srckey
from sequenced
