{#-
  Only `cfz transform` writes the pipeline's schemas (staging, marts, adam and their
  candidates): it builds behind the raw gate, at a fixed raw watermark, under the warehouse
  lock, and publishes only what the mart gate passed. This on-run-start hook stops any other
  command that would write them before a single model runs:
    1. the `dev` target (dev_staging, dev_marts, ...) is always allowed;
    2. commands that write nothing (test without store-failures; ls, compile, docs generate
       and source freshness run no hooks) are allowed;
    3. a writing command (build, run, seed, snapshot, clone, retry, test with
       --store-failures) on another target needs CFZ_DBT_GATED_BUILD=1, which only the
       transform's build sets (cfz_platform.transform.dbt_runner.run_dbt(gated_build=True));
       otherwise the command fails, saying to use `cfz transform`.
  The variable is read at execution only (``execute``): reading it at parse time would make
  dbt re-parse the project whenever it changes.
-#}
{% macro guard_published_schemas() -%}
  {%- if not execute or target.name == 'dev' -%}
    {{ return('') }}
  {%- endif -%}
  {%- set command = flags.WHICH -%}
  {%- set writes = command in ['build', 'run', 'seed', 'snapshot', 'clone', 'retry']
      or (command == 'test' and flags.STORE_FAILURES) -%}
  {%- if writes and env_var('CFZ_DBT_GATED_BUILD', '') != '1' -%}
    {{ exceptions.raise_compiler_error(
        "dbt " ~ command ~ " on target '" ~ target.name ~ "' would write the published schemas "
        ~ "(staging, marts, adam) without the quality gates: use `cfz transform` to build and "
        ~ "publish, or the dev target (dev_* schemas) to try a change") }}
  {%- endif -%}
  {{ return('') }}
{%- endmacro %}
