"""Tables the ML code writes for BI tools in schema ``ml``: commented and readable by
``bi_reader`` (dbt's ``persist_docs`` does not reach tables Python writes).

Every writer (scoring, the response model's and the TTP models' validation) calls
``comment_and_grant`` after creating its table, so a BI catalog shows what each table and
column means.
"""

from __future__ import annotations

from psycopg import sql

from cfz_platform.config import BI_ROLE


def comment_and_grant(
    cur, schema: str, table: str, table_comment: str, column_comments: dict[str, str]
) -> None:
    """COMMENT ON the table and each column, then grant ``bi_reader`` usage on the schema
    and select on this table alone."""
    ident = sql.Identifier(schema, table)
    cur.execute(sql.SQL("comment on table {} is {}").format(ident, sql.Literal(table_comment)))
    for column, text in column_comments.items():
        cur.execute(
            sql.SQL("comment on column {}.{} is {}").format(
                ident, sql.Identifier(column), sql.Literal(text)
            )
        )
    cur.execute(
        sql.SQL("grant usage on schema {} to {}").format(
            sql.Identifier(schema), sql.Identifier(BI_ROLE)
        )
    )
    cur.execute(sql.SQL("grant select on {} to {}").format(ident, sql.Identifier(BI_ROLE)))
