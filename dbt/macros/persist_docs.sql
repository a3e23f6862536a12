{#-
  The model's description and its columns' descriptions as PostgreSQL comments (persist_docs,
  dbt_project.yml), so psql and BI tools show them. Same comments as dbt-postgres's own
  persist_docs, for less work per model (issue 29: dbt's per-node cost is most of a small
  build): dbt-postgres read the table's columns twice (persist_docs, then
  alter_column_comment again) and sent the relation's comment and the columns' comments as
  two queries. Here:
    1. the table's columns are read once, only when there are column descriptions;
    2. validate_doc_columns keeps the documented columns the table has (and warns about the
       others, as dbt does);
    3. the relation's comment and every column's comment go in one query.
-#}
{% macro postgres__persist_docs(relation, model, for_relation, for_columns) -%}
  {%- set statements = [] -%}
  {%- if for_relation and config.persist_relation_docs() and model.description -%}
    {%- do statements.append(alter_relation_comment(relation, model.description).strip().rstrip(';')) -%}
  {%- endif -%}
  {%- if for_columns and config.persist_column_docs() and model.columns -%}
    {%- set existing = adapter.get_columns_in_relation(relation) | map(attribute="name") | list -%}
    {%- set documented = validate_doc_columns(relation, model.columns, existing) -%}
    {%- for name, column in documented.items() -%}
      {%- do statements.append(
            "comment on column " ~ relation ~ "."
            ~ (adapter.quote(name) if column['quote'] else name)
            ~ " is " ~ postgres_escape_comment(column['description'])) -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if statements -%}
    {%- do run_query(statements | join(";\n")) -%}
  {%- endif -%}
{%- endmacro %}
