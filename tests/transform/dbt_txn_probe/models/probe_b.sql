{{ config(pre_hook="set local statement_timeout = '123s'") }}
select current_setting('statement_timeout') as statement_timeout
from {{ ref('probe_a') }}
