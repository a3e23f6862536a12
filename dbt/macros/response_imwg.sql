{#-
  IMWG response helpers shared by the study models (intermediate/response) and the
  admiralonco conformance models (conformance_imwg). One implementation of confirmation and
  best response, so that the conformance test exercises the same SQL as the marts.
-#}

{#- Rank of an IMWG category: higher is better; PD below SD, NE lowest. -#}
{% macro response_rank(category) -%}
    case {{ category }}
        when 'sCR' then 7 when 'CR' then 6 when 'VGPR' then 5 when 'PR' then 4
        when 'MR' then 3 when 'SD' then 2 when 'PD' then 1 when 'NE' then 0
    end
{%- endmacro %}

{#-
  THE new-therapy boundary (domain.md 4: one rule, one place). An assessment dated on or after
  the start of new anti-myeloma therapy is ignored everywhere: for confirming a response, for
  confirming PD, for best response, for TTP/PFS/DOR and for the early-response label.
  Every model and macro that needs it calls this macro; nothing else compares assessment
  dates with new_therapy_date.
-#}
{% macro before_new_therapy(assessment_date, new_therapy_date) -%}
    ({{ new_therapy_date }} is null or {{ assessment_date }} < {{ new_therapy_date }})
{%- endmacro %}

{#-
  THE assessment grouping key (domain.md 4, "one assessment"): a scheduled VISIT label groups
  a visit's records whatever their dates; a record labelled var unscheduled_visit_label (any
  case), or without a VISIT, belongs to the assessment of its date.
-#}
{% macro assessment_key(visit, measured_on) -%}
    case when {{ visit }} is null or upper({{ visit }}) = '{{ var("unscheduled_visit_label") }}'
        then 'DATE ' || {{ measured_on }}::text
        else 'VISIT ' || {{ visit }}
    end
{%- endmacro %}

{#- The category of a rank (inverse of response_rank). -#}
{% macro response_of_rank(rank) -%}
    (array['NE', 'PD', 'SD', 'MR', 'PR', 'VGPR', 'CR', 'sCR'])[({{ rank }}) + 1]
{%- endmacro %}

{#-
  Confirm each assessment's category (domain.md 4, admiralonco IMWG vignette).
  Input relation columns: usubjid, assessment_date, assessment_seq, category,
  pd_by_imaging (bool), pd_death_confirms (bool: death from PD follows this assessment),
  new_therapy_date (date, null when none).
  Steps:
    1. drop NE assessments and those dated on or after new anti-myeloma therapy
       (before_new_therapy); find each remaining one's next non-NE assessment (date,
       category), so an assessment on or after the new therapy's start never confirms;
    2. a response (MR or better) is confirmed at the lower of its own and the next category
       when the next one is MR or better; otherwise (next SD, PD or none) it counts as SD;
    3. SD needs no confirmation;
    4. PD is confirmed by imaging, by a next assessment that is PD, or by death from PD;
       an unconfirmed PD counts as NE; the PD date is this (the first) assessment's date;
    5. NE assessments and assessments on or after new therapy are added back as NE
       (after_new_therapy tells the latter apart).
  Output: the input columns plus next_assessment_date, next_category, confirmed_category,
  is_confirmed (the category stands as assessed), after_new_therapy.
-#}
{% macro imwg_confirm_responses(relation) -%}
    with evaluable as (
        select
            r.*,
            lead(r.category) over w as next_category,
            lead(r.assessment_date) over w as next_assessment_date
        from {{ relation }} r
        where r.category <> 'NE' and {{ before_new_therapy('r.assessment_date', 'r.new_therapy_date') }}
        window w as (partition by r.usubjid order by r.assessment_date, r.assessment_seq)
    ),

    confirmed as (
        select
            e.*,
            case
                when {{ response_rank('e.category') }} >= 3 then
                    case
                        when {{ response_rank('e.next_category') }} >= 3
                        then {{ response_of_rank('least(' ~ response_rank('e.category') ~ ', ' ~ response_rank('e.next_category') ~ ')') }}
                        else 'SD'
                    end
                when e.category = 'SD' then 'SD'
                when e.category = 'PD' then
                    case
                        when coalesce(e.pd_by_imaging, false) or e.next_category = 'PD'
                             or coalesce(e.pd_death_confirms, false) then 'PD'
                        else 'NE'
                    end
            end as confirmed_category
        from evaluable e
    ),

    not_evaluable as (
        select
            r.*,
            null::text as next_category,
            null::date as next_assessment_date,
            'NE'::text as confirmed_category
        from {{ relation }} r
        where r.category = 'NE' or not {{ before_new_therapy('r.assessment_date', 'r.new_therapy_date') }}
    )

    select *, confirmed_category = category as is_confirmed, false as after_new_therapy from confirmed
    union all
    select *, false as is_confirmed,
        not {{ before_new_therapy('assessment_date', 'new_therapy_date') }} as after_new_therapy
    from not_evaluable
{%- endmacro %}

{#-
  Best confirmed response per subject from a relation of confirmed assessments
  (output of imwg_confirm_responses).
  Steps:
    1. keep assessments dated before the start of new anti-myeloma therapy (before_new_therapy);
    2. keep them up to and including the first confirmed PD;
    3. the best response is the confirmed category of highest rank (sCR > CR > VGPR > PR >
       MR > SD > PD > NE); its date is the first assessment reaching it.
  Output: usubjid, best_response, best_response_date, n_assessments.
-#}
{% macro imwg_best_response(relation) -%}
    with eligible as (
        select
            c.*,
            min(case when c.confirmed_category = 'PD' then c.assessment_date end)
                over (partition by c.usubjid) as first_pd_date
        from {{ relation }} c
        where {{ before_new_therapy('c.assessment_date', 'c.new_therapy_date') }}
    ),

    up_to_pd as (
        select * from eligible
        where first_pd_date is null or assessment_date <= first_pd_date
    ),

    ranked as (
        select
            usubjid,
            confirmed_category,
            assessment_date,
            row_number() over (
                partition by usubjid
                order by {{ response_rank('confirmed_category') }} desc, assessment_date, assessment_seq
            ) as rn,
            count(*) over (partition by usubjid) as n_assessments
        from up_to_pd
    )

    select usubjid, confirmed_category as best_response, assessment_date as best_response_date, n_assessments
    from ranked
    where rn = 1
{%- endmacro %}
