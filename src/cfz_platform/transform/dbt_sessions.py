"""One database session per dbt thread for a whole dbt command, not one per node.

dbt-adapters closes a node's connection when the node ends (``BaseConnectionManager.release``)
and opens a new one for the next node. On PostgreSQL that is a new backend per node: a fork,
SCRAM authentication and cold catalog caches, ~20 ms of wall and ~4 ms of the client's CPU each
(measured on the embedded cluster), and a full build has ~150 nodes. dbt's connection manager
already reuses a thread's connection that is still open (``set_connection_name``, the
``ConnectionReused`` event); only ``release`` closes it.

``sessions_kept_open`` replaces ``release`` of dbt-postgres's connection manager while one dbt
command runs. Steps of the replacement:
1. no connection on this thread, or one never opened: nothing to do;
2. the session's transaction, if any is open or failed, is rolled back (what closing did), and
   psycopg2 is left ready, as a new connection is: dbt-postgres sends no BEGIN (psycopg2
   opens the node's transaction before its first statement) but ends it with a COMMIT
   statement, after which psycopg2 still counts a transaction open and would send the next
   node's statements without one (each its own transaction: ``set local`` hooks ignored, a
   delete and its insert no longer atomic). The connection is left open for the thread's
   next node;
3. if that rollback fails, the connection is closed as dbt would have closed it.

dbt still closes every session at the end of the command (``cleanup_all``). What a session could
carry from one node to the next on the same thread, and why that is safe here: the project's
hooks set options with ``set local`` (transaction scope), take no advisory lock, and
dbt-postgres names every incremental temp table uniquely (they are dropped when the session
ends: at the end of the command instead of the end of their node).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

#: Set (to anything) to get dbt's own behaviour back: a session per node (benches, debugging).
PER_NODE_ENV = "CFZ_DBT_SESSION_PER_NODE"


def _release_keeping_session(self) -> None:
    """``release`` that ends the node's transaction and keeps the session (module docstring)."""
    with self.lock:
        conn = self.get_if_exists()
    if conn is None or conn.state != "open":
        return
    from psycopg2.extensions import STATUS_READY, TRANSACTION_STATUS_IDLE

    try:
        handle = conn.handle
        if (
            handle.get_transaction_status() == TRANSACTION_STATUS_IDLE
            and handle.status != STATUS_READY
        ):
            # psycopg2 still counts the transaction dbt's COMMIT statement ended as open: open
            # one for it to roll back, so that both sides are idle without a warning
            with handle.cursor() as cursor:
                cursor.execute("begin")
        handle.rollback()  # nothing sent when psycopg2 already stands ready
        conn.transaction_open = False
    except Exception:
        self.close(conn)
        raise


@contextmanager
def sessions_kept_open() -> Iterator[None]:
    """While the block runs, dbt-postgres keeps each thread's session open between nodes
    (unless ``CFZ_DBT_SESSION_PER_NODE`` is set)."""
    if os.environ.get(PER_NODE_ENV):
        yield
        return
    from dbt.adapters.postgres.connections import PostgresConnectionManager

    own = PostgresConnectionManager.__dict__.get("release")  # else inherited from the base
    PostgresConnectionManager.release = _release_keeping_session
    try:
        yield
    finally:
        if own is not None:
            PostgresConnectionManager.release = own
        else:
            del PostgresConnectionManager.release
