"""Test helper: put hand-written SDTM rows into the raw layer exactly as ingestion would.

Mirrors the raw-layer contract of docs/architecture.md (text columns under lower-cased names
plus lineage columns). Uses ``cfz_platform.ingest.ensure_raw_layer`` when ingestion provides
it, else creates the contract tables itself from ``cfz_platform.ingest.contract.DOMAINS``.
"""

from __future__ import annotations

import csv
import hashlib
import io

import psycopg
from psycopg import sql

LINEAGE = ("_file_id", "_delivery_id", "_file", "_line", "_loaded_at", "_row_hash")


def ensure_raw(conn: psycopg.Connection) -> None:
    """Create the seven contract tables (idempotent).

    Steps: 1. prefer ingestion's own ``ensure_raw_layer``; 2. otherwise create
    ``raw.<domain>`` with every contract column as text plus the lineage columns.
    """
    try:
        from cfz_platform.ingest import ensure_raw_layer  # type: ignore[attr-defined]
    except ImportError:
        ensure_raw_layer = None
    if ensure_raw_layer is not None:
        ensure_raw_layer(conn)
        return
    from cfz_platform.ingest.contract import DOMAINS

    for name, contract in DOMAINS.items():
        cols = [sql.SQL("{} text").format(sql.Identifier(c)) for c in contract.columns]
        cols += [
            sql.SQL("_file_id bigint"),
            sql.SQL("_delivery_id text"),
            sql.SQL("_file text"),
            sql.SQL("_line integer"),
            sql.SQL("_loaded_at timestamptz default now()"),
            sql.SQL("_row_hash text"),
        ]
        conn.execute(
            sql.SQL("create table if not exists {}.{} ({})").format(
                sql.Identifier("raw"), sql.Identifier(name), sql.SQL(", ").join(cols)
            )
        )


def load_rows(
    conn: psycopg.Connection, domain: str, rows: list[dict[str, str]], delivery_id: str
) -> int:
    """COPY ``rows`` (dicts of SDTM column -> text) into ``raw.<domain>`` as one delivery file.

    Steps: 1. add any column the table lacks (as text); 2. COPY the rows with lineage
    (_line = 2.. as in a CSV with a header). Returns the number of rows loaded.
    """
    if not rows:
        return 0
    columns: list[str] = []
    for r in rows:
        for k in r:
            if k.lower() not in columns:
                columns.append(k.lower())
    existing = {
        r[0]
        for r in conn.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' and table_name = %s",
            (domain,),
        )
    }
    for c in columns:
        if c not in existing:
            conn.execute(
                sql.SQL("alter table {}.{} add column {} text").format(
                    sql.Identifier("raw"), sql.Identifier(domain), sql.Identifier(c)
                )
            )
    rel = f"{delivery_id}/{domain}.csv"
    target = [*columns, "_delivery_id", "_file", "_line", "_row_hash"]
    copy = sql.SQL("copy {}.{} ({}) from stdin").format(
        sql.Identifier("raw"),
        sql.Identifier(domain),
        sql.SQL(", ").join(map(sql.Identifier, target)),
    )
    with conn.cursor() as cur, cur.copy(copy) as cp:
        for i, r in enumerate(rows):
            lowered = {k.lower(): v for k, v in r.items()}
            values = [lowered.get(c) for c in columns]
            digest = hashlib.md5(
                "\x1f".join("" if v is None else str(v) for v in values).encode()
            ).hexdigest()
            cp.write_row([*values, delivery_id, rel, i + 2, digest])
    return len(rows)


def rows_from_csv(text: str) -> list[dict[str, str]]:
    """Parse a small inline CSV (header row first) into dicts; empty cells become ''."""
    return list(csv.DictReader(io.StringIO(text.strip() + "\n")))
