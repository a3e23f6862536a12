"""The ledger: ``audit.ingest_files`` rows and the run lock.

Steps a run follows: take ``run_lock`` (a session advisory lock: two ingests never overlap);
``known_versions`` fetches, in one query, the versions (path, sha256) of the landing's paths
already processed (loaded or quarantined); a file whose version is known is skipped, and
``mark_seen`` counts all of them on their original rows in one statement at the end of the
run (``seen_count``, ``last_seen_at``, ``last_seen_run``: no row per file per run); a new
version's row is written by the loader inside the file's own transaction, or by ``record``
when the file is quarantined.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg

RUN_LOCK_KEY = 7_461_990_001
LOADED, QUARANTINED, SKIPPED = "loaded", "quarantined", "skipped_duplicate"

log = logging.getLogger(__name__)


@dataclass
class LedgerRow:
    """What ``audit.ingest_files`` records about one file version in one run."""

    run_id: str
    delivery_id: str
    domain: str | None
    file_name: str
    rel_path: str
    sha256: str
    size_bytes: int
    status: str
    reason: str | None
    started_at: datetime
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    file_id: int | None = None
    read_again: bool = False


@contextmanager
def run_lock(conn: psycopg.Connection, wait_log_every: float = 30.0) -> Iterator[None]:
    """Hold the ingestion advisory lock on ``conn`` (autocommit) for the block.

    Steps: try to take the lock; if another ingest holds it, log and retry every second
    (logging again every ``wait_log_every`` seconds) until it is free; release on exit (a
    killed process releases it with its connection).
    """
    waited = 0.0
    while not conn.execute("select pg_try_advisory_lock(%s)", (RUN_LOCK_KEY,)).fetchone()[0]:
        if waited % wait_log_every == 0:
            log.warning("another ingest is running; waiting for it to finish")
        time.sleep(1.0)
        waited += 1.0
    try:
        yield
    finally:
        if not conn.closed:
            conn.execute("select pg_advisory_unlock(%s)", (RUN_LOCK_KEY,))


def next_file_id(cur: psycopg.Cursor) -> int:
    """Reserve a file id (the ledger row itself is written at the end of the file's transaction)."""
    cur.execute("select nextval(pg_get_serial_sequence('audit.ingest_files', 'file_id'))")
    return int(cur.fetchone()[0])


def known_versions(
    conn: psycopg.Connection, rel_paths: list[str]
) -> dict[tuple[str, str], tuple[int, str]]:
    """``(rel_path, sha256) -> (file_id, status)`` of the latest processed version of each path.

    Only the latest version counts (feeds.md: a re-sent file supersedes the older one whole):
    a path re-sent back to bytes it had before (A, then B, then A again) is a new version
    that supersedes B, not a rerun of A. A file quarantined because it changed while it was
    read (``read_again``) is not a processed version: the next run reads it again.
    """
    rows = conn.execute(
        "select distinct on (rel_path) rel_path, sha256, file_id, status from audit.ingest_files "
        "where rel_path = any(%s) and status <> 'skipped_duplicate' and not read_again "
        "order by rel_path, file_id desc",
        (rel_paths,),
    ).fetchall()
    return {(r[0], r[1]): (int(r[2]), r[3]) for r in rows}


def mark_seen(conn: psycopg.Connection, run_id: str, file_ids: list[int]) -> None:
    """Count one more run that met each of these versions (one statement for all of them)."""
    if file_ids:
        conn.execute(
            "update audit.ingest_files set seen_count = seen_count + 1, last_seen_at = now(), last_seen_run = %s "
            "where file_id = any(%s)",
            (run_id, file_ids),
        )


def stored_text(text: str) -> str:
    """Text PostgreSQL can store: undecodable bytes of a file name as ``\\xNN``, no NUL."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text.replace("\x00", "\\x00")


def record(cur: psycopg.Cursor | psycopg.Connection, row: LedgerRow) -> int:
    """Insert one ledger row (with ``row.file_id`` when reserved); return its file id."""
    result = cur.execute(
        """
        insert into audit.ingest_files (file_id, run_id, delivery_id, domain, file_name, rel_path,
            sha256, size_bytes, rows_read, rows_loaded, rows_rejected, status, reason,
            started_at, finished_at, read_again, last_seen_at, last_seen_run)
        values (coalesce(%s, nextval(pg_get_serial_sequence('audit.ingest_files', 'file_id'))),
                %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp(), %s, clock_timestamp(), %s)
        returning file_id
        """,
        (
            row.file_id,
            row.run_id,
            row.delivery_id,
            row.domain,
            stored_text(row.file_name),
            stored_text(row.rel_path),
            row.sha256,
            row.size_bytes,
            row.rows_read,
            row.rows_loaded,
            row.rows_rejected,
            row.status,
            stored_text(row.reason) if row.reason else None,
            row.started_at,
            row.read_again,
            row.run_id,
        ),
    )
    row.file_id = int(result.fetchone()[0])
    return row.file_id
