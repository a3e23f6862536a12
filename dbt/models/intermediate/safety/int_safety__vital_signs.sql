{#-
  One row per usable vital-sign record with its value in standard units and its change from
  baseline (domain.md 5 "Vital signs and body weight").
  Steps:
    1. standard units: WEIGHT in kg (LB x 0.45359237), HEIGHT in cm (IN x 2.54), TEMP in C
       ((F - 32) x 5 / 9); other tests (SYSBP, DIABP, PULSE, RESP) as sent;
    2. the reference date is the first study dose, else DM.RFSTDTC (int_subject__reference_dates);
    3. baseline per subject, test, position (VSPOS) and timepoint (VSTPT), as each is sent:
       the last record on or before the reference date (latest date, then VSTPTNUM, VSSEQ
       and the record key);
    4. a record after the reference date is post-baseline: change = value - baseline, percent
       change = 100 x change / baseline (null when the baseline is 0 or missing).
-#}
with vital_signs as (
    select * from {{ ref('stg_sdtm__vs') }}
    where is_usable and vsorresn is not null and vsdt is not null
),

reference_dates as (
    select
        usubjid,
        reference_date
    from {{ ref('int_subject__reference_dates') }}
),

standardized as (
    select
        v.usubjid,
        v._record_key as vs_record_key,
        v.vsseq,
        v.vstestcd,
        v.vsorres,
        v.vsorresu,
        v.vsdt,
        coalesce(v.visit, 'UNSCHEDULED') as visit,
        v.vspos,
        v.vstpt,
        {{ safe_numeric('v.vstptnum') }} as vstptnum,
        case
            when v.vstestcd = 'WEIGHT' and upper(v.vsorresu) in ('LB', 'LBS') then v.vsorresn * 0.45359237
            when v.vstestcd = 'HEIGHT' and upper(v.vsorresu) in ('IN', 'INCH', 'INCHES') then v.vsorresn * 2.54
            when v.vstestcd = 'TEMP' and upper(v.vsorresu) in ('F', 'DEGF') then (v.vsorresn - 32) * 5 / 9
            else v.vsorresn
        end as aval,
        case v.vstestcd
            when 'WEIGHT' then 'kg'
            when 'HEIGHT' then 'cm'
            when 'TEMP' then 'C'
            else v.vsorresu
        end as avalu,
        r.reference_date
    from vital_signs as v
    left join reference_dates as r on v.usubjid = r.usubjid
),

baseline as (
    select distinct on (usubjid, vstestcd, coalesce(vspos, '') || '|' || coalesce(vstpt, ''))
        usubjid,
        vstestcd,
        coalesce(vspos, '') || '|' || coalesce(vstpt, '') as position_key,
        vs_record_key as baseline_record_key,
        aval as base
    from standardized
    where vsdt <= reference_date
    order by
        usubjid asc, vstestcd asc, coalesce(vspos, '') || '|' || coalesce(vstpt, '') asc, vsdt desc,
        vstptnum desc nulls last, vsseq desc nulls last, vs_record_key desc
)

select
    s.usubjid,
    s.vs_record_key,
    s.vsseq,
    s.vstestcd,
    s.vsorres,
    s.vsorresu,
    s.aval,
    s.avalu,
    s.vsdt,
    s.visit,
    s.vspos,
    s.vstpt,
    s.vstptnum,
    s.reference_date,
    b.base,
    coalesce(s.vs_record_key = b.baseline_record_key, false) as is_baseline,
    coalesce(s.vsdt > s.reference_date, false) as is_post_baseline,
    case when s.vsdt > s.reference_date then s.aval - b.base end as chg,
    case when s.vsdt > s.reference_date then 100 * (s.aval - b.base) / nullif(b.base, 0) end as pchg
from standardized as s
left join baseline as b
    on s.usubjid = b.usubjid and s.vstestcd = b.vstestcd and coalesce(s.vspos, '') || '|' || coalesce(s.vstpt, '') = b.position_key
