"""Read the warehouse's tables for the report, by the column names their contracts fix.

The report reads ``marts.*`` (dbt models with enforced contracts, and the endpoint tables
``rpt_study_endpoints`` / ``rpt_survival_curves`` written by ``cfz_platform.stats``),
``audit.*`` (the ingestion ledger and quality-gate results) and
``ml.early_response_predictions`` (the scoring table). Every read names the columns it
needs; a missing table, an empty one, or one built before a column existed raises
:class:`Unavailable` with a reason a reader understands and what to run, and the page
shows a "not available" box instead of guessing another column.

A reader may be given a schema map (``{"marts": "cut_interim", "ml": "cut_interim"}``):
every read names the logical schema (``marts``, ``ml``, ``audit``) and the reader reads the
mapped one, so the same sections draw an analysis cut's frozen tables
(``cfz report --cut NAME``); raw SQL asks ``qualified`` for the table's real name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd
import psycopg
from psycopg import sql

#: What rebuilds each schema's tables (the hint of a "missing column" message).
REBUILD_HINT = {
    "marts": "rebuild the marts with `cfz transform`",
    "audit": "run `cfz ingest` (it upgrades the ingestion ledger) and `cfz validate`",
    "ml": "score again with `cfz score`",
}


class Unavailable(Exception):
    """A section cannot be drawn; ``str(exc)`` says why, for the reader."""


def compute_missing_columns(available: Iterable[str], needed: Sequence[str]) -> list[str]:
    """The names of ``needed`` that are not in ``available``, in the order asked."""
    have = set(available)
    return [name for name in needed if name not in have]


@dataclass
class MartReader:
    """Reads tables (or SQL over them) from the warehouse into pandas.

    Column lists are looked up once per table from ``information_schema``, so that a read
    can check the contract columns it needs before it runs. ``schemas`` maps a logical
    schema (``marts``, ``ml``, ``audit``) to the one read (an analysis cut's); a schema not
    in the map is read as named.
    """

    conn: psycopg.Connection
    schemas: dict[str, str] = field(default_factory=dict)
    _columns: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def schema(self, schema: str) -> str:
        """The schema really read for the logical ``schema`` (the map's, else itself)."""
        return self.schemas.get(schema, schema)

    def qualified(self, schema: str, table: str) -> sql.Composable:
        """``schema.table`` as an SQL identifier, with the schema mapped (for raw SQL texts)."""
        return sql.Identifier(self.schema(schema), table)

    def columns(self, schema: str, table: str) -> list[str]:
        """Column names of ``schema.table`` (schema mapped) in order; empty when the table
        does not exist."""
        key = (self.schema(schema), table)
        if key not in self._columns:
            rows = self.conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = %s and table_name = %s order by ordinal_position",
                key,
            ).fetchall()
            self._columns[key] = [r[0] for r in rows]
        return self._columns[key]

    def exists(self, schema: str, table: str) -> bool:
        return bool(self.columns(schema, table))

    def require(self, schema: str, table: str, columns: Sequence[str]) -> None:
        """Raise Unavailable unless ``schema.table`` exists and has every one of ``columns``.

        Steps: 1. the table must exist (else "has not been built"); 2. every named column
        must exist (else a message naming the missing columns, saying the table predates
        them and what rebuilds it).
        """
        have = self.columns(schema, table)
        real = self.schema(schema)
        if not have:
            raise Unavailable(f"{real}.{table} has not been built in this warehouse")
        missing = compute_missing_columns(have, columns)
        if missing:
            hint = REBUILD_HINT.get(schema, "rebuild it")
            if real != schema:
                hint = f"the analysis cut {real} was made before it; make a new cut"
            raise Unavailable(
                f"{real}.{table} has no column {', '.join(missing)}: it was built before "
                f"its contract named {'them' if len(missing) > 1 else 'it'}; {hint}"
            )

    def table(
        self,
        schema: str,
        table: str,
        columns: Sequence[str] | None = None,
        *,
        allow_empty: bool = False,
    ) -> pd.DataFrame:
        """The table as a frame: the named ``columns`` (checked first), or all of them.

        Steps: 1. ``require`` the table and the columns; 2. select them; 3. when empty and
        not ``allow_empty``, raise Unavailable "no rows".
        """
        self.require(schema, table, columns or [])
        names = sql.SQL(", ").join(map(sql.Identifier, columns)) if columns else sql.SQL("*")
        query = sql.SQL("select {} from {}").format(names, self.qualified(schema, table))
        frame = self.frame(query)
        if frame.empty and not allow_empty:
            raise Unavailable(f"{self.schema(schema)}.{table} has no rows for this study")
        return frame

    def frame(self, query: sql.Composable | str, params: Iterable | None = None) -> pd.DataFrame:
        """Run a query and return its rows as a frame with the result's column names."""
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            names = [d.name for d in cur.description or []]
            return pd.DataFrame(cur.fetchall(), columns=names)


def as_bool(series: pd.Series) -> pd.Series:
    """Contract flags as booleans: boolean columns as they are, ADaM 'Y'/'N' text as Y; null is False."""

    def one(value: object) -> bool:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return False
        if isinstance(value, str):
            return value.strip().upper() == "Y"
        return bool(value)

    return series.map(one).astype(bool)


def as_grade(series: pd.Series) -> pd.Series:
    """CTCAE grades as nullable integers (null -> <NA>)."""
    return pd.to_numeric(series, errors="coerce").astype("Int64")
