"""Read the published marts (and the audit and ml schemas) for the report.

The report reads only what is published: ``marts.*`` for the clinical content,
``audit.*`` for the data-quality summary and ``ml.early_response_predictions`` for the
model. A section whose table is missing or empty raises :class:`Unavailable` with a
reason a reader understands; the builder turns it into a "not available" box.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
import psycopg
from psycopg import sql


class Unavailable(Exception):
    """A section cannot be drawn; ``str(exc)`` says why, for the reader."""


@dataclass
class MartReader:
    """Reads whole tables (or SQL over them) from the warehouse into pandas.

    Column lists are looked up once per table from ``information_schema`` so that each
    section can pick the columns the marts actually have (``pick``).
    """

    conn: psycopg.Connection
    _columns: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def columns(self, schema: str, table: str) -> list[str]:
        """Column names of ``schema.table`` in order; empty when the table does not exist."""
        key = (schema, table)
        if key not in self._columns:
            rows = self.conn.execute(
                "select column_name from information_schema.columns "
                "where table_schema = %s and table_name = %s order by ordinal_position",
                (schema, table),
            ).fetchall()
            self._columns[key] = [r[0] for r in rows]
        return self._columns[key]

    def exists(self, schema: str, table: str) -> bool:
        return bool(self.columns(schema, table))

    def table(self, schema: str, table: str, *, allow_empty: bool = False) -> pd.DataFrame:
        """The whole table as a frame.

        Steps: 1. check the table exists (else Unavailable "not built"); 2. select all
        columns; 3. when empty and not ``allow_empty``, raise Unavailable "no rows".
        """
        if not self.exists(schema, table):
            raise Unavailable(f"{schema}.{table} has not been built in this warehouse")
        query = sql.SQL("select * from {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        frame = self.frame(query)
        if frame.empty and not allow_empty:
            raise Unavailable(f"{schema}.{table} has no rows for this study")
        return frame

    def frame(self, query: sql.Composable | str, params: Iterable | None = None) -> pd.DataFrame:
        """Run a query and return its rows as a frame with the result's column names."""
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            names = [d.name for d in cur.description or []]
            return pd.DataFrame(cur.fetchall(), columns=names)


def pick(frame_or_columns: pd.DataFrame | Iterable[str], *candidates: str, source: str = "",
         required: bool = True) -> str | None:
    """Return the first of ``candidates`` that is a column, else raise Unavailable / None.

    Steps: 1. lower-case the available names; 2. return the first candidate present;
    3. otherwise raise Unavailable naming the source and the candidates (or return None
    when ``required`` is false).
    """
    available = list(frame_or_columns.columns if isinstance(frame_or_columns, pd.DataFrame)
                     else frame_or_columns)
    lowered = {c.lower(): c for c in available}
    for cand in candidates:
        if cand.lower() in lowered:
            return lowered[cand.lower()]
    if required:
        raise Unavailable(f"{source or 'the mart'} has no column {' / '.join(candidates)}")
    return None


def as_bool(series: pd.Series) -> pd.Series:
    """Flags as booleans: accepts booleans, 'Y'/'N', 'true'/'false', 1/0; missing is False."""
    def one(value: object) -> bool:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return False
        if isinstance(value, str):
            return value.strip().upper() in {"Y", "YES", "TRUE", "T", "1"}
        return bool(value)

    return series.map(one).astype(bool)


def as_grade(series: pd.Series) -> pd.Series:
    """CTCAE grades as nullable integers (text '0'..'5', numbers, '' or null -> <NA>)."""
    return pd.to_numeric(series.replace("", None), errors="coerce").astype("Int64")
