"""Compare two builds of the warehouse table by table: same columns, same rows (as multisets).

Used to prove that a refactoring of the dbt graph changes no published result: snapshot the
published schemas of a build, rebuild with the changed project, then diff every table.

Steps:
    1. ``snapshot`` copies every table of the given schemas (marts, adam, the intermediate
       tables in staging) into ``<prefix>_<schema>`` (``create table ... as table ...``);
    2. ``diff_schemas`` lists, for each table of either schema, the column names and types
       (in order) and, when they agree, the rows only in one side (``except all`` both ways);
    3. a table is identical when its columns agree and both differences are empty.

Run as a script against the current warehouse (CFZ_WAREHOUSE_DB):
    uv run python -m tests.transform.mart_diff snapshot before   # before the change
    uv run python -m tests.transform.mart_diff compare before    # after rebuilding
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import psycopg
from psycopg import sql

# The schemas of a build whose tables must not change; intermediates live in staging (tables).
COMPARED_SCHEMAS = ("marts", "adam", "staging")


@dataclass(frozen=True)
class TableDiff:
    """How one table differs between two schemas (nothing, when ``identical``)."""

    table: str
    only_in: str | None  # the side holding the table when the other lacks it
    columns_a: tuple[tuple[str, str], ...]
    columns_b: tuple[tuple[str, str], ...]
    rows_only_a: int
    rows_only_b: int
    rows_a: int

    @property
    def identical(self) -> bool:
        return (
            self.only_in is None
            and self.columns_a == self.columns_b
            and self.rows_only_a == 0
            and self.rows_only_b == 0
        )


def list_tables(conn: psycopg.Connection, schema: str) -> list[str]:
    """Base tables of a schema (views are not results)."""
    rows = conn.execute(
        "select table_name from information_schema.tables"
        " where table_schema = %s and table_type = 'BASE TABLE' order by table_name",
        (schema,),
    ).fetchall()
    return [r[0] for r in rows]


def _columns(conn: psycopg.Connection, schema: str, table: str) -> tuple[tuple[str, str], ...]:
    rows = conn.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a"
        " join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = %s and c.relname = %s and a.attnum > 0 and not a.attisdropped"
        " order by a.attnum",
        (schema, table),
    ).fetchall()
    return tuple((r[0], r[1]) for r in rows)


def snapshot(
    conn: psycopg.Connection, prefix: str, schemas: tuple[str, ...] = COMPARED_SCHEMAS
) -> dict[str, int]:
    """Copy every table of ``schemas`` into ``<prefix>_<schema>``; return tables copied per schema."""
    copied: dict[str, int] = {}
    for schema in schemas:
        target = f"{prefix}_{schema}"
        conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(target)))
        conn.execute(sql.SQL("create schema {}").format(sql.Identifier(target)))
        tables = list_tables(conn, schema)
        for table in tables:
            conn.execute(
                sql.SQL("create table {}.{} as table {}.{}").format(
                    sql.Identifier(target),
                    sql.Identifier(table),
                    sql.Identifier(schema),
                    sql.Identifier(table),
                )
            )
        copied[schema] = len(tables)
    return copied


def _count(conn: psycopg.Connection, query: sql.Composable) -> int:
    return conn.execute(sql.SQL("select count(*) from ({}) d").format(query)).fetchone()[0]


def diff_schemas(conn: psycopg.Connection, schema_a: str, schema_b: str) -> list[TableDiff]:
    """Compare every table of two schemas: columns (names, types, order) and rows (``except all``)."""
    tables_a, tables_b = set(list_tables(conn, schema_a)), set(list_tables(conn, schema_b))
    diffs: list[TableDiff] = []
    for table in sorted(tables_a | tables_b):
        if table not in tables_b or table not in tables_a:
            diffs.append(
                TableDiff(table, schema_a if table in tables_a else schema_b, (), (), 0, 0, 0)
            )
            continue
        cols_a, cols_b = _columns(conn, schema_a, table), _columns(conn, schema_b, table)
        a = sql.SQL("table {}.{}").format(sql.Identifier(schema_a), sql.Identifier(table))
        b = sql.SQL("table {}.{}").format(sql.Identifier(schema_b), sql.Identifier(table))
        n_a = _count(conn, a)
        if cols_a != cols_b:
            diffs.append(TableDiff(table, None, cols_a, cols_b, -1, -1, n_a))
            continue
        only_a = _count(conn, sql.SQL("{} except all {}").format(a, b))
        only_b = _count(conn, sql.SQL("{} except all {}").format(b, a))
        diffs.append(TableDiff(table, None, cols_a, cols_b, only_a, only_b, n_a))
    return diffs


def compare_builds(
    conn: psycopg.Connection, prefix: str, schemas: tuple[str, ...] = COMPARED_SCHEMAS
) -> dict[str, list[TableDiff]]:
    """Diff each schema of the current build against its ``<prefix>_`` snapshot."""
    return {schema: diff_schemas(conn, f"{prefix}_{schema}", schema) for schema in schemas}


def _main(argv: list[str]) -> int:
    from cfz_platform.db import warehouse

    if len(argv) != 2 or argv[0] not in ("snapshot", "compare"):
        print("usage: python -m tests.transform.mart_diff snapshot|compare PREFIX", file=sys.stderr)
        return 2
    action, prefix = argv
    with warehouse.connect(autocommit=True) as conn:
        if action == "snapshot":
            for schema, n in snapshot(conn, prefix).items():
                print(f"{schema}: {n} tables copied to {prefix}_{schema}")
            return 0
        differing = 0
        for schema, diffs in compare_builds(conn, prefix).items():
            for d in diffs:
                if d.identical:
                    print(f"same     {schema}.{d.table} ({d.rows_a} rows)")
                    continue
                differing += 1
                if d.only_in:
                    print(f"DIFFERS  {schema}.{d.table}: only in {d.only_in}")
                elif d.columns_a != d.columns_b:
                    print(f"DIFFERS  {schema}.{d.table}: columns {d.columns_a} != {d.columns_b}")
                else:
                    print(
                        f"DIFFERS  {schema}.{d.table}: {d.rows_only_a} rows only before, {d.rows_only_b} only after"
                    )
        print(f"{differing} table(s) differ")
        return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
