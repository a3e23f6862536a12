{#-
  One row per usable medical-history record, placed against the first study dose
  (domain.md 5 "Medical history").
  Steps:
  1. the reference date is the first study dose, else DM.RFSTDTC (int_subject__reference_dates);
  2. a condition is baseline history when it started before the reference date, or its start
     is unknown (history is collected at screening), and the subject has a reference date;
  3. it is ongoing at baseline when it has no end date (MHENDTC empty) or MHENRTPT says
     ONGOING, and it is baseline history;
  4. the body system is MHBODSYS, else 'UNCODED' (a term without a dictionary coding).
-#}
with history as (
    select * from {{ ref('stg_sdtm__mh') }}
    where is_usable
),

reference_dates as (
    select
        usubjid,
        reference_date
    from {{ ref('int_subject__reference_dates') }}
)

select
    h.usubjid,
    h._record_key as mh_record_key,
    h.mhseq,
    h.mhterm,
    coalesce(h.mhdecod, upper(h.mhterm)) as mhdecod,
    coalesce(h.mhbodsys, 'UNCODED') as mhbodsys,
    h.mhcat,
    h.mhstdtc,
    h.mhstdt,
    h.mhendtc,
    h.mhendt,
    h.mhenrtpt,
    r.reference_date,
    coalesce(
        r.reference_date is not null and (h.mhstdt is null or h.mhstdt < r.reference_date),
        false
    ) as is_baseline,
    coalesce(
        r.reference_date is not null
        and (h.mhstdt is null or h.mhstdt < r.reference_date)
        and (h.mhendt is null or h.mhenrtpt = 'ONGOING'),
        false
    ) as is_ongoing_at_baseline
from history as h
left join reference_dates as r on h.usubjid = r.usubjid
