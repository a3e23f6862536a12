"""A dbt command keeps one database session per thread (``transform.dbt_sessions``, issue 29).

dbt closed each node's connection and opened a new one for the next node: a new PostgreSQL
backend per node (fork, SCRAM authentication, cold catalog caches), ~2 s of the server's CPU in
a small full build. The test builds the seeds and their data tests (~30 nodes, 4 threads) on a
fresh warehouse twice, with dbt's own behaviour (``CFZ_DBT_SESSION_PER_NODE=1``) and with the
platform's, and counts the sessions PostgreSQL saw open (``pg_stat_database.sessions``).
"""

from __future__ import annotations

import time

from cfz_platform.transform.dbt_runner import run_dbt

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
