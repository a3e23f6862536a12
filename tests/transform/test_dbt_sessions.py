"""A dbt command keeps one database session per thread (``transform.dbt_sessions``, issue 29).

dbt closed each node's connection and opened a new one for the next node: a new PostgreSQL
backend per node (fork, SCRAM authentication, cold catalog caches), ~2 s of the server's CPU in
a small full build. The test builds the seeds and their data tests (~30 nodes, 4 threads) on a
fresh warehouse twice, with dbt's own behaviour (``CFZ_DBT_SESSION_PER_NODE=1``) and with the
platform's, and counts the sessions PostgreSQL saw open (``pg_stat_database.sessions``).
A kept session must still give each node a transaction of its own: a three-model project
(``dbt_txn_probe/``) on one thread checks that a ``set local`` hook holds for its node only.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cfz_platform.transform.dbt_runner import run_dbt, write_profiles
from cfz_platform.transform.dbt_sessions import sessions_kept_open

PROBE_PROJECT = Path(__file__).parent / "dbt_txn_probe"

SEEDS_AND_THEIR_TESTS = [
    "build",
    "--select",
    "resource_type:seed",
    "--exclude-resource-type",
    "unit_test",
]


def _sessions(db, name: str) -> int:
    """Sessions opened on database ``name`` so far, once every ended backend has reported."""
    last, stable_since = None, time.monotonic()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        n = db.execute(
            "select sessions from pg_stat_database where datname = %s", (name,)
        ).fetchone()[0]
        if n != last:
            last, stable_since = n, time.monotonic()
        elif time.monotonic() - stable_since > 1.5:
            break
        time.sleep(0.3)
    return last


def _build_counting_sessions(db, name: str) -> tuple[int, int]:
    """(nodes run, sessions opened by the build) for the seeds and their tests."""
    before = _sessions(db, name)
    result = run_dbt(SEEDS_AND_THEIR_TESTS, gated_build=True)
    assert result.success, result.failures
    return len(result.results), _sessions(db, name) - before


def test_a_dbt_command_opens_one_session_per_thread_not_per_node(warehouse_db, db, monkeypatch):
    monkeypatch.setenv("CFZ_DBT_SESSION_PER_NODE", "1")
    nodes, per_node = _build_counting_sessions(db, warehouse_db)
    monkeypatch.delenv("CFZ_DBT_SESSION_PER_NODE")
    nodes_again, kept = _build_counting_sessions(db, warehouse_db)

    assert nodes == nodes_again >= 25  # 8 seeds and their data tests
    assert per_node >= nodes  # dbt's own behaviour: a backend per node (the measure sees it)
    assert kept <= 4 + 2  # the 4 threads' sessions, dbt's main one, and one spare


def test_a_node_that_fails_leaves_the_kept_session_usable_for_the_next(warehouse_db, db):
    """One thread, one session: a data test whose table is gone fails mid-transaction, and
    every later test on that session still runs and passes. (dbt's own error handling already
    rolls such a transaction back; this guards the outcome, not the rollback in ``release``.)"""
    run_dbt(["seed"], gated_build=True)
    db.execute("drop table staging.ctcae_unit_synonyms")
    before = _sessions(db, warehouse_db)
    result = run_dbt(
        ["test", "--select", "resource_type:seed", "--threads", "1"], raise_on_failure=False
    )
    opened = _sessions(db, warehouse_db) - before

    status = {r.node.name: str(r.status) for r in result.results if r.node.resource_type == "test"}
    broken = {n for n in status if "ctcae_unit_synonyms" in n}
    assert broken and {status[n] for n in broken} == {"error"}
    others = {n: s for n, s in status.items() if n not in broken}
    assert len(others) >= 15 and set(others.values()) == {"pass"}
    assert opened <= 3  # the one thread's session and dbt's main one


@pytest.mark.parametrize("per_node", [False, True], ids=["kept-session", "session-per-node"])
def test_each_node_runs_in_its_own_transaction_on_a_kept_session(
    warehouse_db, db, tmp_path, monkeypatch, per_node
):
    """On one thread, three models in a chain share the kept session. The middle one's
    ``set local`` pre-hook holds for its own select (the hook and the model ran in one
    transaction: with the session kept as dbt-postgres left it, psycopg2 sent every statement
    after the first node's COMMIT without a transaction, and PostgreSQL ignored the hook), and
    the next model sees the server's default again. The same with dbt's session per node."""
    if per_node:
        monkeypatch.setenv("CFZ_DBT_SESSION_PER_NODE", "1")
    profiles = write_profiles(threads=1)  # the warehouse target: schema staging
    from dbt.cli.main import dbtRunner

    with sessions_kept_open():
        res = dbtRunner().invoke(
            [
                "run",
                "--project-dir",
                str(PROBE_PROJECT),
                "--profiles-dir",
                str(profiles),
                "--target-path",
                str(tmp_path / "target"),
                "--log-path",
                str(tmp_path / "logs"),
            ]
        )
    assert res.success, res.exception
    default = db.execute("select current_setting('statement_timeout')").fetchone()[0]
    seen = {
        model: db.execute(f"select statement_timeout from staging.{model}").fetchone()[0]
        for model in ("probe_a", "probe_b", "probe_c")
    }
    assert seen == {"probe_a": default, "probe_b": "123s", "probe_c": default}
