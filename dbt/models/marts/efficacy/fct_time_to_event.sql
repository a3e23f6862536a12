{#- ADTTE-shaped time-to-event endpoints: TTP, PFS, OS, PFSMAINT, DOR (int_response__time_to_event). -#}
with tte as (
    select * from {{ ref('int_response__time_to_event') }}
)

select
    usubjid::text as usubjid,
    paramcd::text as paramcd,
    param::text as param,
    startdt::date as startdt,
    adt::date as adt,
    aval::integer as aval,
    cnsr::integer as cnsr,
    evntdesc::text as evntdesc,
    cnsdtdsc::text as cnsdtdsc
from tte
