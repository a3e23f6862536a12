{#-
  ADRS: IMWG response per assessment and per subject (domain.md 4). One derivation, two
  shapes: categories come from fct_response_assessments / fct_best_response.
  Steps:
    1. the study has response data when fct_response_assessments has a row; otherwise ADRS
       is empty and adam_datasets says why (a study without M-protein/FLC or investigator
       responses, e.g. the CDISC pilot);
    2. PARAMCD OVR: one row per assessment, AVALC = the derived IMWG category, ASEQ = its
       assessment sequence, AVALC2 = the confirmed category; ANL01FL 'Y' on the records that
       the best response uses (the rule of macro imwg_best_response: dated before new
       anti-myeloma therapy and not after the first confirmed PD);
    3. PARAMCD CBOR: confirmed best overall response (fct_best_response.best_response, NE
       when no usable assessment), ADT its first date;
    4. PARAMCD BOR: best unconfirmed category among the ANL01FL assessments (first date
       reaching it), NE when none;
    5. AVAL = the category's rank (sCR 7, CR 6, VGPR 5, PR 4, MR 3, SD 2, PD 1, NE 0);
    6. both evaluators (RSEVAL): the rows above are the platform's IMWG derivation (DERIVED);
       the investigator's responses sit beside them, PARAMCD INVOVR per assessment with a
       response (fct_response_assessments.investigator_response, same ASEQ/ADT as OVR) and
       INVCBOR per subject (fct_best_response.investigator_best_response), RSEVAL
       INVESTIGATOR; AGREEFL on OVR/INVOVR says whether the two evaluators agree.
-#}
with assessments as (
    select * from {{ ref('fct_response_assessments') }}
),

best as (
    select * from {{ ref('fct_best_response') }}
),

adsl as (
    select
        studyid,
        usubjid,
        trtsdt
    from {{ ref('adsl') }}
),

has_response_data as (
    select exists(select 1 from assessments) as present
),

first_pd as (
    select
        usubjid,
        min(assessment_date) as first_pd_date
    from assessments as a
    where a.confirmed_category = 'PD' and not a.after_new_therapy
    group by usubjid
),

ovr as (
    select
        a.usubjid,
        'OVR' as paramcd,
        'Overall Response by IMWG (derived)' as param,
        a.assessment_date as adt,
        a.ady,
        a.visit as avisit,
        a.imwg_category as avalc,
        a.confirmed_category as avalc2,
        a.assessment_seq as aseq,
        a.investigator_response,
        not a.after_new_therapy
        and (p.first_pd_date is null or a.assessment_date <= p.first_pd_date) as used
    from assessments as a
    left join first_pd as p using (usubjid)
),

bor as (
    select distinct on (o.usubjid)
        o.usubjid,
        o.avalc,
        o.adt
    from ovr as o
    where o.used and o.avalc <> 'NE'
    order by o.usubjid asc, {{ response_rank('o.avalc') }} desc, o.adt, o.aseq asc
),

subject_rows as (
    select
        b.usubjid,
        'CBOR' as paramcd,
        'Confirmed Best Overall Response by IMWG' as param,
        b.best_response_date as adt,
        b.best_response as avalc
    from best as b
    union all
    select
        b.usubjid,
        'BOR' as paramcd,
        'Best Overall Response by IMWG (unconfirmed)' as param,
        u.adt,
        coalesce(u.avalc, 'NE') as avalc
    from best as b
    left join bor as u using (usubjid)
),

unioned as (
    select
        usubjid,
        paramcd,
        param,
        adt,
        ady,
        avisit,
        avalc,
        avalc2,
        aseq,
        used,
        'DERIVED' as rseval,
        case when investigator_response is not null then avalc = investigator_response end as agree
    from ovr
    union all
    select
        usubjid,
        paramcd,
        param,
        adt,
        null::integer,
        null::text,
        avalc,
        null::text,
        null::integer,
        true,
        'DERIVED',
        null::boolean
    from subject_rows
    union all
    select
        usubjid,
        'INVOVR',
        'Overall Response by Investigator',
        adt,
        ady,
        avisit,
        investigator_response,
        null::text,
        aseq,
        null::boolean,
        'INVESTIGATOR',
        avalc = investigator_response
    from ovr
    where investigator_response is not null
    union all
    select
        usubjid,
        'INVCBOR',
        'Confirmed Best Overall Response by Investigator',
        null::date,
        null::integer,
        null::text,
        investigator_best_response,
        null::text,
        null::integer,
        null::boolean,
        'INVESTIGATOR',
        null::boolean
    from best
    where investigator_best_response is not null
)

select
    s.studyid::text as studyid,
    u.usubjid::text as usubjid,
    u.paramcd::text as paramcd,
    u.param::text as param,
    u.adt::date as adt,
    coalesce(u.ady, {{ adam_study_day('u.adt', 's.trtsdt') }})::integer as ady,
    u.avisit::text as avisit,
    u.avalc::text as avalc,
    {{ response_rank('u.avalc') }}::numeric as aval,
    u.avalc2::text as avalc2,
    u.aseq::integer as aseq,
    {{ adam_flag('u.used') }}::text as anl01fl,
    u.rseval::text as rseval,
    {{ adam_flag('u.agree') }}::text as agreefl
from unioned as u
left join adsl as s using (usubjid)
where (select present from has_response_data)
