{#-
  Production targets use the configured schema name as-is (raw, staging, marts, ...), not
  "<target>_<schema>". The `dev` target (cfz dbt, dbt/profiles.yml) prefixes it instead
  (dev_staging, dev_marts, ...), so a developer's build never replaces what BI reads or what
  the quality gates passed. The `cut` target (cfz cut create, cfz_platform.transform.cut)
  prefixes it the same way (cut_build_staging, cut_build_marts, ...): an analysis cut is built
  beside the live schemas, gated, then renamed to cut_<name> / cut_<name>_adam.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}
    {%- elif target.name in ('dev', 'cut') -%}{{ target.schema }}_{{ custom_schema_name | trim }}
    {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
