"""Study endpoint tables written after ``dbt build``: rpt_study_endpoints, rpt_survival_curves.

This module reads the marts and writes the tables; the rows themselves are computed in
``endpoint_rows`` (pure functions).

Both tables are rebuilt in one transaction from the efficacy marts of the same schema
(``fct_best_response``, ``fct_time_to_event``, ``dim_subject`` and, when present,
``fct_dose_escalation``). Column types are fixed here (see ``ENDPOINT_COLUMNS`` and
``CURVE_COLUMNS`` in endpoint_rows) and documented in dbt/models/marts/efficacy/_efficacy__models.yml.

Populations (domain.md 4): every endpoint counts only its population's subjects, read from
the flags of ``dim_subject`` (defined there once): ORR, BOR counts and Kaplan-Meier medians
the response-evaluable subjects (``respevalfl``), DLT counts and the MTD the DLT-evaluable
ones (``dltevalfl``, through ``fct_dose_escalation``). Best response and time-to-event rows
exist for every treated subject; only the counting here filters. Each endpoint row names its
population (``analysis_population``, ``population_flag``) and, for by-group rows, which group
(``group_source``: as assigned or regimen-derived, dim_subject.analysis_group).

Both tables carry table and column comments (``COMMENT ON``), read from the ``efficacy_stats``
source of dbt/models/marts/efficacy/_efficacy__models.yml: the one text that dbt docs show
for them, also shown by BI tools (dbt's ``persist_docs`` does not reach tables Python writes).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import psycopg
import yaml
from psycopg import sql

from cfz_platform.config import project_root
from cfz_platform.stats.endpoint_rows import (
    CURVE_COLUMNS,
    ENDPOINT_COLUMNS,
    RESPONSE_POPULATION,
    EndpointTables,
    compute_endpoint_rows,
)

log = logging.getLogger(__name__)

#: the dbt YAML documenting both tables (source efficacy_stats): the text of their comments
ENDPOINT_DOCS_YAML = Path("dbt") / "models" / "marts" / "efficacy" / "_efficacy__models.yml"
ENDPOINT_DOCS_SOURCE = "efficacy_stats"


@dataclass(frozen=True)
class TableDocs:
    """The description of a table and of each of its columns."""

    description: str
    columns: dict[str, str]


@cache
def load_endpoint_docs(path: Path | None = None) -> dict[str, TableDocs]:
    """The documentation of the endpoint tables, per table name, from the dbt YAML.

    Steps: read the YAML (default ``ENDPOINT_DOCS_YAML`` under the project root); take the
    tables of source ``ENDPOINT_DOCS_SOURCE``; keep each table's description and its columns'
    descriptions (whitespace folded to single spaces).
    """
    doc = yaml.safe_load((path or project_root() / ENDPOINT_DOCS_YAML).read_text())
    source = next(s for s in doc.get("sources", []) if s["name"] == ENDPOINT_DOCS_SOURCE)
    return {
        t["name"]: TableDocs(
            " ".join(str(t.get("description", "")).split()),
            {
                c["name"]: " ".join(str(c.get("description", "")).split())
                for c in t.get("columns", [])
            },
        )
        for t in source["tables"]
    }


def _comment_table(
    conn: psycopg.Connection, ident: sql.Identifier, table: str, columns: list[tuple[str, str]]
) -> None:
    """COMMENT ON the table and each of its columns with the dbt YAML's text (none when absent)."""
    docs = load_endpoint_docs().get(table)
    if docs is None:
        log.warning(
            "no documentation for %s in %s: the table has no comments", table, ENDPOINT_DOCS_YAML
        )
        return
    conn.execute(
        sql.SQL("comment on table {} is {}").format(ident, sql.Literal(docs.description or None))
    )
    for column, _ in columns:
        conn.execute(
            sql.SQL("comment on column {}.{} is {}").format(
                ident, sql.Identifier(column), sql.Literal(docs.columns.get(column) or None)
            )
        )


def _table_exists(conn: psycopg.Connection, schema: str, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (f"{schema}.{table}",)).fetchone()[0]


def _fetch(conn: psycopg.Connection, query: sql.Composable) -> list[dict]:
    cur = conn.execute(query)
    names = [d.name for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _replace_table(
    conn: psycopg.Connection,
    schema: str,
    table: str,
    columns: list[tuple[str, str]],
    rows: list[tuple],
) -> None:
    ident = sql.Identifier(schema, table)
    conn.execute(sql.SQL("drop table if exists {}").format(ident))
    conn.execute(
        sql.SQL("create table {} ({})").format(
            ident,
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, t in columns
            ),
        )
    )
    _comment_table(conn, ident, table, columns)
    with (
        conn.cursor() as cur,
        cur.copy(
            sql.SQL("copy {} ({}) from stdin").format(
                ident, sql.SQL(", ").join(sql.Identifier(c) for c, _ in columns)
            )
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _columns(conn: psycopg.Connection, schema: str, table: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and table_name = %s",
            (schema, table),
        )
    }


def write_endpoint_tables(conn: psycopg.Connection, marts_schema: str) -> EndpointTables:
    """Rebuild rpt_study_endpoints and rpt_survival_curves in ``marts_schema``.

    Steps:
    1. read best responses and time-to-event rows of every treated subject joined to
       dim_subject: the by-group column (``analysis_group``, else ``group``) and the
       response-evaluable flag (``respevalfl``); dose escalation when that mart exists;
    2. compute the rows (``compute_endpoint_rows``), which count only the response-evaluable
       subjects for ORR, BOR and KM medians;
    3. in one transaction, drop and recreate both tables with fixed column types, comment
       them and their columns from the dbt YAML (``load_endpoint_docs``), and COPY the rows in.
    """
    s = sql.Identifier(marts_schema)
    if not _table_exists(conn, marts_schema, "dim_subject"):
        log.warning(
            "%s.dim_subject is missing: endpoints are computed for all subjects, without groups",
            marts_schema,
        )
        best = _fetch(
            conn,
            sql.SQL(
                "select usubjid, null::text as grp, best_response, is_responder, is_clinical_benefit "
                "from {}.fct_best_response order by usubjid"
            ).format(s),
        )
        tte = _fetch(
            conn,
            sql.SQL(
                "select usubjid, null::text as grp, paramcd, aval::float8 as aval, cnsr "
                "from {}.fct_time_to_event order by 1, 3"
            ).format(s),
        )
        return _write(
            conn, marts_schema, best, tte, None, ("all treated subjects (no dim_subject)", None)
        )
    cols = _columns(conn, marts_schema, "dim_subject")
    grp = sql.Identifier("analysis_group" if "analysis_group" in cols else "group")
    group_source = None
    if "analysis_group_source" in cols:
        found = conn.execute(
            sql.SQL("select min(analysis_group_source) from {}.dim_subject").format(s)
        ).fetchone()
        group_source = found[0] if found else None
    group_source = group_source or "assigned"
    best = _fetch(
        conn,
        sql.SQL(
            "select b.usubjid, d.{}::text as grp, b.best_response, b.is_responder, b.is_clinical_benefit, "
            "coalesce(d.respevalfl, false) as respevalfl "
            "from {}.fct_best_response b join {}.dim_subject d using (usubjid) order by b.usubjid"
        ).format(grp, s, s),
    )
    tte = _fetch(
        conn,
        sql.SQL(
            "select t.usubjid, d.{}::text as grp, t.paramcd, t.aval::float8 as aval, t.cnsr, "
            "coalesce(d.respevalfl, false) as respevalfl "
            "from {}.fct_time_to_event t join {}.dim_subject d using (usubjid) order by 1, 3"
        ).format(grp, s, s),
    )
    return _write(conn, marts_schema, best, tte, group_source)


def _write(
    conn: psycopg.Connection,
    marts_schema: str,
    best: list[dict],
    tte: list[dict],
    group_source: str | None,
    response_population: tuple[str, str | None] = RESPONSE_POPULATION,
) -> EndpointTables:
    s = sql.Identifier(marts_schema)
    escalation = None
    if _table_exists(conn, marts_schema, "fct_dose_escalation"):
        escalation = _fetch(conn, sql.SQL("select * from {}.fct_dose_escalation").format(s))
    tables = compute_endpoint_rows(best, tte, escalation, group_source, response_population)
    with conn.transaction():
        _replace_table(
            conn, marts_schema, "rpt_study_endpoints", ENDPOINT_COLUMNS, tables.endpoints
        )
        _replace_table(conn, marts_schema, "rpt_survival_curves", CURVE_COLUMNS, tables.curves)
    log.info(
        "wrote %d endpoint rows and %d curve rows into %s",
        len(tables.endpoints),
        len(tables.curves),
        marts_schema,
    )
    return tables
