"""Run locks on the warehouse, so two commands never write it at the same time.

Two PostgreSQL session advisory locks, each held on a dedicated connection for the whole run:
released when the run ends or its process dies (the server drops the session), so a killed
run never leaves a stale lock behind.

- ``WAREHOUSE`` (exclusive): ``transform``, ``validate``, ``train``, ``score`` and ``nightly``
  take it; one of them at a time.
- ``INGEST``: ``ingest`` (and the nightly's ingest step) take it; two ingests take turns. An
  ingest does not take ``WAREHOUSE``: it may load while a transform builds, because a build
  reads raw only up to the upper watermark it fixed before its raw gate
  (``transform.pipeline.fix_watermark``); what the ingest loads waits for the next build.

A command that finds its lock taken waits up to ``--wait`` seconds, then stops with
``RunLockedError`` naming the holder (the CLI exits with ``LOCKED_EXIT_CODE``, 75).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from cfz_platform.db import warehouse

log = logging.getLogger(__name__)

WAREHOUSE = "warehouse"
INGEST = "ingest"
#: Exit status of a command that gave up waiting for a lock (EX_TEMPFAIL: try again later).
LOCKED_EXIT_CODE = 75


class RunLockedError(RuntimeError):
    """Another run holds the lock; the message says which backend and since when."""


def compute_lock_key(name: str) -> int:
    """Stable signed 64-bit advisory-lock key for a lock name."""
    digest = hashlib.sha256(f"cfz-platform:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _holder(conn, key: int) -> str:
    row = conn.execute(
        "select a.pid, a.backend_start, a.application_name, a.client_addr from pg_locks l "
        "join pg_stat_activity a on a.pid = l.pid "
        "where l.locktype = 'advisory' and l.granted "
        "and l.database = (select oid from pg_database where datname = current_database()) "
        "and l.classid::bigint = %s and l.objid::bigint = %s limit 1",
        ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
    ).fetchone()
    if row is None:
        return "another run"
    where = f" from {row[3]}" if row[3] else ""
    return f"`{row[2] or 'cfz'}` (backend pid {row[0]}{where}, connected since {row[1]:%Y-%m-%d %H:%M:%S})"


@contextmanager
def warehouse_lock(
    name: str = WAREHOUSE, wait_seconds: float = 0.0, holder: str | None = None
) -> Iterator[None]:
    """Hold the named advisory lock on the warehouse for the duration of the block.

    ``holder`` names the command in ``pg_stat_activity.application_name`` (``cfz-<holder>``),
    which is how a waiting command names the one in its way.

    Steps:
    1. open a dedicated autocommit connection (its session owns the lock);
    2. try ``pg_try_advisory_lock`` until it succeeds or ``wait_seconds`` pass, logging
       while waiting;
    3. on timeout raise ``RunLockedError`` naming the holder; else run the block and unlock.
    """
    key = compute_lock_key(name)
    conn = warehouse.connect(autocommit=True, application_name=f"cfz-{holder or name}")
    try:
        deadline = time.monotonic() + wait_seconds
        announced = False
        while not conn.execute("select pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise RunLockedError(
                    f"the {name} lock on this warehouse is held by {_holder(conn, key)}; "
                    f"another run is in progress, so this one stops without doing anything "
                    f"(retry later, or pass --wait SECONDS)"
                )
            if not announced:
                log.info("waiting up to %.0f s for %s to finish", wait_seconds, _holder(conn, key))
                announced = True
            time.sleep(0.5)
        try:
            yield
        finally:
            if not conn.closed:
                conn.execute("select pg_advisory_unlock(%s)", (key,))
    finally:
        conn.close()
