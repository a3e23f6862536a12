"""A warehouse-wide run lock, so two nightly runs never overlap on one warehouse.

It is a PostgreSQL session advisory lock, held on a dedicated connection for the whole run:
it is released when the run ends or its process dies (the server drops the session), so a
killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from cfz_platform.db import warehouse

log = logging.getLogger(__name__)


class RunLockedError(RuntimeError):
    """Another run holds the lock; the message says which backend and since when."""


def compute_lock_key(name: str) -> int:
    """Stable signed 64-bit advisory-lock key for a lock name."""
    digest = hashlib.sha256(f"cfz-platform:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _holder(conn, key: int) -> str:
    row = conn.execute(
        "select a.pid, a.backend_start, a.application_name from pg_locks l "
        "join pg_stat_activity a on a.pid = l.pid "
        "where l.locktype = 'advisory' and l.granted "
        "and l.classid::bigint = %s and l.objid::bigint = %s limit 1",
        ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
    ).fetchone()
    if row is None:
        return "another run"
    return f"backend pid {row[0]} ({row[2] or 'cfz'}), connected since {row[1]:%Y-%m-%d %H:%M:%S}"


@contextmanager
def warehouse_lock(name: str = "nightly", wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the named advisory lock on the warehouse for the duration of the block.

    Steps:
    1. open a dedicated autocommit connection (its session owns the lock);
    2. try ``pg_try_advisory_lock`` until it succeeds or ``wait_seconds`` pass, logging
       while waiting;
    3. on timeout raise ``RunLockedError`` naming the holder; else run the block and unlock.
    """
    key = compute_lock_key(name)
    conn = warehouse.connect(autocommit=True, application_name=f"cfz-{name}")
    try:
        deadline = time.monotonic() + wait_seconds
        announced = False
        while not conn.execute("select pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise RunLockedError(
                    f"the {name} lock on this warehouse is held by {_holder(conn, key)}; "
                    "another run is in progress, so this one stops without doing anything"
                )
            if not announced:
                log.info("waiting up to %.0f s for the running %s to finish", wait_seconds, name)
                announced = True
            time.sleep(1.0)
        try:
            yield
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (key,))
    finally:
        conn.close()
