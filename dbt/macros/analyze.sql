{#-
  Post-hook of every model (dbt_project.yml): planner statistics for what this build changed.
  A model built after another in the same run reads it at once, and a table without
  statistics got nested-loop plans (fct_ml_features: 2 s -> 43 s), so a table is analysed
  when it has no statistics yet (created by this build: every table model, a full build of
  an incremental one) or when this build's transaction inserted, updated or deleted more
  than a tenth of its rows (autovacuum's own threshold for analysing again). An incremental
  model that derived nothing again, or a few subjects, keeps the statistics of its last
  analyse: analysing it cost 0.4-1.6 s per large table at 10,000 subjects for nothing.
  Steps (one statement, run in the model's transaction, so that its counts are this
  build's): nothing for a view; statistics present? (pg_stats); rows written by this
  transaction (pg_stat_xact_user_tables) against the table's row estimate (reltuples).
-#}
{% macro analyze_when_changed() -%}
do $cfz_analyze$
begin
    if exists (
        select 1 from pg_class as c
        where c.oid = '{{ this }}'::regclass
          and c.relkind in ('r', 'p', 'm')
          and (
              not exists (
                  select 1 from pg_stats as s
                  where s.schemaname = '{{ this.schema }}' and s.tablename = '{{ this.identifier }}'
              )
              or (
                  select coalesce(sum(x.n_tup_ins + x.n_tup_upd + x.n_tup_del), 0)
                  from pg_stat_xact_user_tables as x
                  where x.relid = c.oid
              ) > 0.1 * greatest(c.reltuples, 0)
          )
    ) then
        execute 'analyze {{ this }}';
    end if;
end
$cfz_analyze$
{%- endmacro %}
