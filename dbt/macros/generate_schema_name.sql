{#-
  Production targets use the configured schema name as-is (raw, staging, marts, ...), not
  "<target>_<schema>". The `dev` target (cfz dbt, dbt/profiles.yml) prefixes it instead
  (dev_staging, dev_marts, ...), so a developer's build never replaces what BI reads or what
  the quality gates passed.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- elif target.name == 'dev' -%}{{ target.schema }}_{{ custom_schema_name | trim }}
    {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
