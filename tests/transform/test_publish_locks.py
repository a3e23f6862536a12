"""A BI session idle in a transaction cannot stall the build (issue 14, item 5).

The situation: a BI tool opened a transaction, read ``marts``, and went idle. Two publishes
later its tables are the ones ``prepare_candidate`` drops, and the drop needs the lock the
idle session holds. ``bi_reader``'s idle-in-transaction timeout ends that session; when a
session stays anyway, every DDL of the build gives up after the lock timeout with a message
naming the session. Real PostgreSQL sessions; the publish runs in a thread with a deadline.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from psycopg import sql

from cfz_platform.db import warehouse
from cfz_platform.transform import publish


def _role_settings(db) -> tuple[dict[str, str], int]:
    rows = db.execute(
        "select unnest(s.setconfig) from pg_db_role_setting s join pg_roles r on r.oid = s.setrole "
        "where r.rolname = 'bi_reader' and s.setdatabase = 0"
    ).fetchall()
    limit = db.execute("select rolconnlimit from pg_roles where rolname = 'bi_reader'").fetchone()[
        0
    ]
    return dict(r[0].split("=", 1) for r in rows), limit


@pytest.fixture
def bi_limits(warehouse_db, monkeypatch):
    """bi_reader with a 2 s idle-in-transaction timeout; the defaults are restored afterwards."""
    monkeypatch.setenv("CFZ_BI_IDLE_IN_TRANSACTION_TIMEOUT", "2s")
    warehouse.ensure_warehouse(warehouse_db)
    yield
    monkeypatch.delenv("CFZ_BI_IDLE_IN_TRANSACTION_TIMEOUT")
    warehouse.ensure_warehouse(warehouse_db)


def _build_and_publish(db, n: int) -> None:
    """A stand-in build: prepare the candidate, one table in it, publish."""
    with warehouse.connect() as conn:
        publish.prepare_candidate(conn)
    db.execute(
        sql.SQL("create table marts_candidate.fct_probe as select {} as build").format(
            sql.Literal(n)
        )
    )
    with warehouse.connect() as conn:
        publish.publish_candidate(conn)


def _idle_bi_session(warehouse_db: str) -> psycopg.Connection:
    """A BI session that read marts in a transaction and went idle (its lock stays)."""
    bi = psycopg.connect(warehouse.bi_settings(warehouse_db).conninfo)
    assert bi.execute("select build from marts.fct_probe").fetchone() is not None
    return bi


def _prepare_within(seconds: float) -> tuple[bool, BaseException | None]:
    """Run ``prepare_candidate`` in a thread; (finished in time, its exception)."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            with warehouse.connect() as conn:
                publish.prepare_candidate(conn)
            outcome.append(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    return (not worker.is_alive()), (outcome[0] if outcome else None)


def test_bi_reader_has_session_limits(db):
    settings, limit = _role_settings(db)
    assert settings["idle_in_transaction_session_timeout"] == "60s"
    assert settings["statement_timeout"] == "15min"
    assert limit == 20


def test_an_idle_bi_transaction_is_ended_before_the_build_gives_up(
    db, warehouse_db, bi_limits, monkeypatch
):
    monkeypatch.setenv("CFZ_DDL_LOCK_TIMEOUT", "30s")
    assert _role_settings(db)[0]["idle_in_transaction_session_timeout"] == "2s"
    _build_and_publish(db, 1)
    bi = _idle_bi_session(warehouse_db)  # holds a lock on build 1's table
    try:
        _build_and_publish(db, 2)  # build 1 is now marts_previous
        started = time.monotonic()
        finished, error = _prepare_within(60)  # drops marts_previous: needs the BI session's lock
        assert finished and error is None, error
        assert time.monotonic() - started < 20  # the 2 s idle timeout, not the 30 s lock timeout
        with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
            bi.execute("select 1")  # the server ended the idle session
    finally:
        bi.close()
    db.execute("create table marts_candidate.fct_probe as select 3 as build")
    with warehouse.connect() as conn:
        publish.publish_candidate(conn)
    assert db.execute("select build from marts.fct_probe").fetchone() == (3,)


def test_a_lingering_lock_fails_the_build_after_the_timeout_naming_the_session(
    db, warehouse_db, monkeypatch
):
    monkeypatch.setenv("CFZ_DDL_LOCK_TIMEOUT", "2s")
    _build_and_publish(db, 4)
    bi = _idle_bi_session(warehouse_db)
    bi.execute("set application_name = 'dashboard-42'")
    try:
        _build_and_publish(db, 5)
        started = time.monotonic()
        finished, error = _prepare_within(60)
        assert finished, "prepare_candidate still waiting after 60 s"
        assert time.monotonic() - started < 20
        assert isinstance(error, publish.PublishError)
        message = str(error)
        assert "gave up after waiting 2s" in message and "CFZ_DDL_LOCK_TIMEOUT" in message
        assert "bi_reader (dashboard-42" in message and "idle in transaction" in message
    finally:
        bi.close()
    # marts is untouched and the next build goes through once the session is gone
    assert db.execute("select build from marts.fct_probe").fetchone() == (5,)
    finished, error = _prepare_within(60)
    assert finished and error is None, error
