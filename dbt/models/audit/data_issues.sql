{{ config(schema='audit', materialized='table') }}
{#-
  audit.data_issues: one row per semantic problem found in staging (docs/architecture.md).
  Steps: 1. take each staging model's issue_items (jsonb array of {column, value, issue});
  2. unnest to one row per problem with the domain, subject, natural key and lineage.
  Rows listed here are kept out of the marts (is_usable = false) and come back by
  themselves once the seeds or DM catch up, because staging is recomputed on every build.
-#}
{#- the contract domains of the SDTM domain registry (macros/sdtm_domains.sql) -#}
{%- set domains = sdtm_issue_domains() %}

with
{% for domain, model, key in domains %}
    {{ model }}_issues as (
        select
            '{{ domain }}'::text as domain,
            usubjid::text as usubjid,
            ({{ key }})::text as natural_key,
            (item ->> 'column')::text as column_name,
            (item ->> 'value')::text as value,
            (item ->> 'issue')::text as issue,
            _delivery_id::text as _delivery_id,
            _file::text as _file,
            _line::integer as _line
        from {{ ref(model) }}
        cross join lateral jsonb_array_elements(issue_items) as item
    ){{ "," if not loop.last }}
{% endfor %}

{% for domain, model, key in domains %}
    select * from {{ model }}_issues
    {% if not loop.last %}union all{% endif %}
{% endfor %}
