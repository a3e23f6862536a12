{#-
  ADTTE: TTP, PFS, OS, PFSMAINT and DOR, exactly fct_time_to_event (int_response__time_to_event) with
  ADaM's event/censoring traceability.
  Steps:
    1. empty when the study has no response data (fct_response_assessments empty; see
       adam_datasets), like ADRS;
    2. EVNTDESC = the event description, or the censoring description (CNSDTDSC) when censored;
       CNSR = 0 for an event (fct_time_to_event.cnsr 0), else the code of the censoring reason
       (var adam_censor_codes: one code per CNSDTDSC; 9 for a reason not listed);
    3. SRCDOM/SRCVAR/SRCSEQ: a death event -> ADSL.DTHDT; OS censored -> ADSL.LSTALVDT; a date that is an IMWG assessment
       -> ADRS.ADT with that assessment's ASEQ; otherwise the start date it was censored at
       (ADSL.TRTSDT for TTP, ADSL.MNTSDT for PFSMAINT).
-#}
with tte as (
    select * from {{ ref('fct_time_to_event') }}
),

assessments as (
    select
        usubjid,
        assessment_date,
        min(assessment_seq) as assessment_seq
    from {{ ref('fct_response_assessments') }}
    group by usubjid, assessment_date
),

adsl as (
    select
        studyid,
        usubjid,
        trtsdt,
        saffl,
        respevfl
    from {{ ref('adsl') }}
),

has_response_data as (
    select exists(select 1 from {{ ref('fct_response_assessments') }}) as present
),

sourced as (
    select
        t.*,
        a.assessment_seq,
        case when t.cnsr = 0 and t.evntdesc like 'DEATH%' then 'ADSL'
            when t.paramcd = 'OS' then 'ADSL'
            when a.assessment_seq is not null then 'ADRS'
            else 'ADSL'
        end as srcdom,
        case when t.cnsr = 0 and t.evntdesc like 'DEATH%' then 'DTHDT'
            when t.paramcd = 'OS' then 'LSTALVDT'
            when a.assessment_seq is not null then 'ADT'
            when t.paramcd = 'PFSMAINT' then 'MNTSDT'
            else 'TRTSDT'
        end as srcvar
    from tte as t
    left join assessments as a on t.usubjid = a.usubjid and t.adt = a.assessment_date
)

select
    s.studyid::text as studyid,
    x.usubjid::text as usubjid,
    x.paramcd::text as paramcd,
    x.param::text as param,
    s.trtsdt::date as trtsdt,
    x.startdt::date as startdt,
    x.adt::date as adt,
    x.aval::numeric as aval,
    (case when x.cnsr = 0 then 0 {% for reason, code in var('adam_censor_codes').items() %}when x.cnsdtdsc = '{{ reason }}' then {{ code }} {% endfor %}else 9 end)::integer as cnsr,
    coalesce(x.evntdesc, x.cnsdtdsc)::text as evntdesc,
    x.cnsdtdsc::text as cnsdtdsc,
    x.srcdom::text as srcdom,
    x.srcvar::text as srcvar,
    (case when x.srcdom = 'ADRS' then x.assessment_seq end)::integer as srcseq,
    s.saffl::text as saffl,
    s.respevfl::text as respevfl
from sourced as x
left join adsl as s using (usubjid)
where (select present from has_response_data)
