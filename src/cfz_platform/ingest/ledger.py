"""The ledger: ``audit.ingest_files`` rows, file fingerprints and the run lock.

Steps a run follows: take ``run_lock`` (a session advisory lock: two ingests never overlap);
for each file compute ``fingerprint`` (sha256, size); ``find_version`` says whether this
path with this content was already processed (loaded or quarantined), in which case
``record`` writes a ``skipped_duplicate`` row; otherwise the loader writes the file's row
inside the file's own transaction.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

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


def fingerprint(path: Path, block: int = 1 << 20) -> tuple[str, int]:
    """sha256 (hex) and size in bytes of the file as it lies in the landing folder."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


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


def find_version(conn: psycopg.Connection, rel_path: str, sha256: str) -> tuple[int, str] | None:
    """``(file_id, status)`` of an earlier processed version with this path and content, if any."""
    row = conn.execute(
        "select file_id, status from audit.ingest_files "
        "where rel_path = %s and sha256 = %s and status <> 'skipped_duplicate' order by file_id limit 1",
        (rel_path, sha256),
    ).fetchone()
    return (int(row[0]), row[1]) if row else None


def record(cur: psycopg.Cursor, row: LedgerRow) -> int:
    """Insert one ledger row (with ``row.file_id`` when reserved); return its file id."""
    cur.execute(
        """
        insert into audit.ingest_files (file_id, run_id, delivery_id, domain, file_name, rel_path,
            sha256, size_bytes, rows_read, rows_loaded, rows_rejected, status, reason,
            started_at, finished_at)
        values (coalesce(%s, nextval(pg_get_serial_sequence('audit.ingest_files', 'file_id'))),
                %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp())
        returning file_id
        """,
        (row.file_id, row.run_id, row.delivery_id, row.domain, row.file_name, row.rel_path,
         row.sha256, row.size_bytes, row.rows_read, row.rows_loaded, row.rows_rejected,
         row.status, row.reason, row.started_at),
    )
    row.file_id = int(cur.fetchone()[0])
    return row.file_id
