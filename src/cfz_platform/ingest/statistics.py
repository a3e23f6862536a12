"""Planner statistics of the raw tables, refreshed by their next reader.

The raw gate and the dbt build select "the rows of the files after N"; with the statistics of
the night before, PostgreSQL estimated one row for them and chose nested loops (an incremental
``stg_sdtm__vs`` at 1,000 subjects: 2.0 s against 0.1 s). Autovacuum gets there, but only
after the build. So the raw gate calls ``analyze_changed_raw_tables`` first
(``transform.pipeline.gate``: ``cfz transform``, ``cfz validate``, ``cfz cut create`` and the
nightly's raw gate step): once per build however many ingests came before it, and never inside
``cfz ingest`` (which loads and leaves; ingestion costs what loading costs).

Steps of ``analyze_changed_raw_tables``:
1. list the raw tables with rows loaded since their last analysis here: the ingestion ledger's
   loaded files (``audit.ingest_files``, rows loaded > 0) after the file each table was last
   analysed through (``audit.raw_statistics``, created here when missing), with their rows and
   the last such file, and the columns of ``ANALYZED_RAW_COLUMNS`` each table has. The ledger,
   not PostgreSQL's activity counters, decides: those reach ``pg_stat_user_tables`` only when
   the writing session flushes them (at most once a second, or as its backend exits, after
   the client has moved on), so a build started at once could miss the night's rows;
2. share them out over ``workers`` connections, the table with most new rows first, each to
   the connection with the fewest rows so far (``compute_analyze_batches``: the largest
   table, whose ``analyze`` takes longest, starts at once on its own connection);
3. per table, ``analyze raw.<table> (<columns>)`` and record the file it is analysed through
   (one transaction); the first batch on the calling thread, the others in threads; the first
   error is raised once every batch has stopped. ``analyze`` takes a lock that blocks
   neither readers nor writers; a file loaded meanwhile is analysed again next time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import sql

from cfz_platform.db import warehouse
from cfz_platform.ingest.schema import DDL_LOCK_KEY

log = logging.getLogger(__name__)

#: The raw columns whose statistics a new file changes for the readers' plans: the file and
#: delivery ids they select new rows by, and the subject they join on. The other columns'
#: distributions move slowly and are left to autovacuum: analysing every column of the seven
#: tables took 1.2-1.4 s at 1,000 subjects, these three 0.3 s.
ANALYZED_RAW_COLUMNS = ("_file_id", "_delivery_id", "usubjid")


_STATE_DDL = """
create table if not exists audit.raw_statistics (
    raw_table                text primary key,
    analyzed_through_file_id bigint not null,
    analyzed_at              timestamptz not null default now()
)
"""


@dataclass(frozen=True)
class ChangedTable:
    """A raw table with rows loaded since its last analysis here."""

    name: str
    rows: int
    through_file_id: int
    columns: tuple[str, ...]


def find_changed_raw_tables(conn: psycopg.Connection) -> dict[str, ChangedTable]:
    """The raw tables with rows loaded since they were last analysed here (step 1)."""
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
        conn.execute(_STATE_DDL)
    rows = conn.execute(
        "select f.domain, sum(f.rows_loaded), max(f.file_id), "
        "  array(select a.attname::text from pg_attribute a "
        "        where a.attrelid = to_regclass(format('raw.%%I', f.domain)) and a.attnum > 0 "
        "          and not a.attisdropped and a.attname = any(%s)) "
        "from audit.ingest_files f "
        "left join audit.raw_statistics s on s.raw_table = f.domain "
        "where f.status = 'loaded' and f.rows_loaded > 0 and f.domain is not null "
        "  and f.file_id > coalesce(s.analyzed_through_file_id, 0) "
        "group by f.domain",
        (list(ANALYZED_RAW_COLUMNS),),
    ).fetchall()
    return {
        table: ChangedTable(
            table, int(n), int(through), tuple(c for c in ANALYZED_RAW_COLUMNS if c in columns)
        )
        for table, n, through, columns in rows
        if columns
    }


def compute_analyze_batches(rows: Mapping[str, int], workers: int) -> list[list[str]]:
    """The tables of ``rows`` (table -> changed rows) shared out over ``workers`` connections.

    Steps: take the tables by rows, most first (ties by name); give each to the batch with the
    fewest rows so far. Tables with no changed row and empty batches are left out.
    """
    batches: list[tuple[int, list[str]]] = [(0, []) for _ in range(max(1, workers))]
    for table in sorted((t for t in rows if rows[t] > 0), key=lambda t: (-rows[t], t)):
        k = min(range(len(batches)), key=lambda i: batches[i][0])
        batches[k] = (batches[k][0] + rows[table], [*batches[k][1], table])
    return [tables for _, tables in batches if tables]


def _analyze(conn: psycopg.Connection, tables: Sequence[ChangedTable]) -> None:
    for table in tables:
        with conn.transaction():
            conn.execute(
                sql.SQL("analyze {} ({})").format(
                    sql.Identifier("raw", table.name),
                    sql.SQL(", ").join(sql.Identifier(c) for c in table.columns),
                )
            )
            conn.execute(
                "insert into audit.raw_statistics (raw_table, analyzed_through_file_id) "
                "values (%s, %s) on conflict (raw_table) do update set "
                "analyzed_through_file_id = excluded.analyzed_through_file_id, analyzed_at = now()",
                (table.name, table.through_file_id),
            )


def analyze_changed_raw_tables(workers: int = 2) -> list[str]:
    """Refresh the statistics of every raw table with rows loaded since its last analysis here
    (see the module docstring); the tables analysed, most new rows first."""
    t0 = time.perf_counter()
    with warehouse.connect(autocommit=True) as conn:
        changed = find_changed_raw_tables(conn)
        batches = [
            [changed[t] for t in batch]
            for batch in compute_analyze_batches({t: c.rows for t, c in changed.items()}, workers)
        ]
        errors: list[BaseException] = []

        def analyze_on_own_connection(tables: list[ChangedTable]) -> None:
            try:
                with warehouse.connect(autocommit=True) as own:
                    _analyze(own, tables)
            except BaseException as exc:  # noqa: BLE001 - raised in the calling thread below
                errors.append(exc)

        threads = [
            threading.Thread(target=analyze_on_own_connection, args=(b,), name=f"analyze-{k}")
            for k, b in enumerate(batches[1:], start=1)
        ]
        for t in threads:
            t.start()
        try:
            if batches:
                _analyze(conn, batches[0])
        finally:
            for t in threads:
                t.join()
    if errors:
        raise errors[0]
    tables = sorted(changed, key=lambda t: (-changed[t].rows, t))
    if tables:
        log.info(
            "raw statistics refreshed for %s (%.1f s)",
            ", ".join(f"{t} ({changed[t].rows:,} new rows)" for t in tables),
            time.perf_counter() - t0,
        )
    return tables
