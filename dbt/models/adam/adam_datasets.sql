{#-
  adam_datasets: one row per ADaM dataset of this build, with its record and subject counts
  and, when it is empty, why (read by `cfz export adam` and the statisticians' README).
  Steps: count each dataset; an empty dataset gets the reason its inputs imply:
    - ADRS / ADTTE: no IMWG response assessment could be derived (no M-protein / FLC
      results and no investigator overall response after the first dose): a myeloma-only
      dataset, e.g. not derivable from the CDISC pilot;
    - ADSL: DM has no subject; ADAE: AE has no usable record; ADLB: LB has no usable result;
      ADEX: EX has no usable record; ADMH: MH has no usable record; ADVS: VS has no usable
      record and no cycle has a BSA; ADCM: CM has no usable record.
-#}
with counts as (
    select
        'ADSL' as dataset,
        1 as dataset_order,
        count(*) as records,
        count(distinct usubjid) as subjects
    from {{ ref('adsl') }}
    union all
    select
        'ADAE',
        2,
        count(*),
        count(distinct usubjid)
    from {{ ref('adae') }}
    union all
    select
        'ADLB',
        3,
        count(*),
        count(distinct usubjid)
    from {{ ref('adlb') }}
    union all
    select
        'ADEX',
        4,
        count(*),
        count(distinct usubjid)
    from {{ ref('adex') }}
    union all
    select
        'ADRS',
        5,
        count(*),
        count(distinct usubjid)
    from {{ ref('adrs') }}
    union all
    select
        'ADTTE',
        6,
        count(*),
        count(distinct usubjid)
    from {{ ref('adtte') }}
    union all
    select
        'ADMH',
        7,
        count(*),
        count(distinct usubjid)
    from {{ ref('admh') }}
    union all
    select
        'ADVS',
        8,
        count(*),
        count(distinct usubjid)
    from {{ ref('advs') }}
    union all
    select
        'ADCM',
        9,
        count(*),
        count(distinct usubjid)
    from {{ ref('adcm') }}
),

reasons (dataset, reason) as (
    values
    ('ADSL', 'no subject in DM'),
    ('ADAE', 'no usable adverse event record in AE'),
    ('ADLB', 'no usable lab result in LB'),
    ('ADEX', 'no usable exposure record in EX'),
    ('ADRS', 'not derivable: no IMWG response assessment (no M-protein / free light chain results and no investigator overall response after the first dose); a myeloma-only dataset'),
    ('ADTTE', 'not derivable: TTP, PFS, OS, PFSMAINT and DOR need IMWG response assessments, and this study has none; a myeloma-only dataset'),
    ('ADMH', 'no usable medical history record in MH'),
    ('ADVS', 'no usable vital-sign record in VS and no cycle with a body-surface area'),
    ('ADCM', 'no usable medication record in CM')
)

select
    c.dataset::text as dataset,
    c.dataset_order::integer as dataset_order,
    c.records::bigint as records,
    c.subjects::bigint as subjects,
    (case when c.records > 0 then 'populated' else 'empty' end)::text as status,
    (case when c.records = 0 then r.reason end)::text as reason
from counts as c
inner join reasons as r using (dataset)
