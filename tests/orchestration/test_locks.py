"""Every command that writes the warehouse takes its lock: exit 75 naming the holder, or --wait (issue 14, item 4).

The holder here is another process's session (this test process); the commands run as real
`cfz` subprocesses. The full build-against-build case is in tests/transform/test_publish_integrity.py.
"""

from __future__ import annotations

import threading
import time

import pytest

from cfz_platform.orchestration.lock import INGEST, WAREHOUSE, warehouse_lock
from tests.conftest import run_cfz


@pytest.mark.parametrize("command", [("validate",), ("train",), ("score",), ("transform",)])
def test_a_writer_stops_with_75_while_another_holds_the_warehouse(warehouse_db, command):
    with warehouse_lock(WAREHOUSE, holder="nightly"):
        proc = run_cfz(*command, check=False, timeout=300)
    assert proc.returncode == 75, proc.stderr
    assert (
        f"cfz {command[0]}: the warehouse lock on this warehouse is held by `cfz-nightly`"
        in proc.stderr
    )
    assert "Traceback" not in proc.stderr


def test_two_ingests_take_turns(warehouse_db, tmp_path):
    with warehouse_lock(INGEST, holder="ingest"):
        proc = run_cfz("ingest", "--landing", str(tmp_path), check=False, timeout=300)
    assert proc.returncode == 75, proc.stderr
    assert "the ingest lock on this warehouse is held by `cfz-ingest`" in proc.stderr


def test_wait_gives_the_running_command_time_to_finish(warehouse_db):
    """With --wait the command waits for the holder, then runs (here: validate, which reports
    both gates once it has the lock)."""
    release = threading.Event()

    def hold() -> None:
        with warehouse_lock(WAREHOUSE, holder="transform"):
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    time.sleep(1)
    timer = threading.Timer(8, release.set)
    timer.start()
    started = time.monotonic()
    proc = run_cfz("validate", "--wait", "120", check=False, timeout=600)
    holder.join()
    assert time.monotonic() - started >= 7
    assert "waiting up to 120 s for `cfz-transform`" in proc.stderr
    assert proc.returncode != 75
    assert "raw gate on schema 'raw'" in proc.stdout


def test_a_run_on_another_warehouse_neither_blocks_nor_is_named(warehouse_db, request):
    """Advisory locks belong to one database: a nightly holding the lock of another warehouse
    on the same cluster does not stop this warehouse's validate, and when this warehouse's
    own lock is taken the message names its holder, not the other warehouse's run."""
    from tests.conftest import module_db_name, scratch_warehouse

    with (
        scratch_warehouse(module_db_name(request, "_other")),
        warehouse_lock(WAREHOUSE, holder="nightly"),
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("CFZ_WAREHOUSE_DB", warehouse_db)
        with warehouse_lock(WAREHOUSE, holder="transform"):
            blocked = run_cfz("validate", check=False, timeout=300)
        free = run_cfz("validate", check=False, timeout=300)
    assert blocked.returncode == 75, blocked.stderr
    assert "held by `cfz-transform`" in blocked.stderr, blocked.stderr
    assert free.returncode != 75, free.stderr
