"""The tests' fork server for `cfz` (tests/cfz_process.py, issue 29) behaves as a real process.

Each `cfz` below runs both ways, forked from the server and as ``python -m cfz_platform.cli`` in
a real subprocess (``fresh_process=True``), and the two must agree on exit code, stdout and
stderr; the environment of one forked call must not reach the next; a timeout must kill the
child; a new session must be a new session; the server must hold no thread or connection.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cfz_platform.orchestration.lock import WAREHOUSE, warehouse_lock
from tests.cfz_process import PRELOAD, CfzProcess, server_pid, start_cfz
from tests.conftest import run_cfz


def _both(*args: str, env: dict | None = None) -> tuple[tuple, tuple]:
    """(returncode, stdout, stderr) of ``cfz ARGS`` forked, then in a real subprocess."""
    forked = run_cfz(*args, env=env, check=False, timeout=300)
    fresh = run_cfz(*args, env=env, check=False, timeout=300, fresh_process=True)
    return (
        (forked.returncode, forked.stdout, forked.stderr),
        (fresh.returncode, fresh.stdout, fresh.stderr),
    )


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture(autouse=True)
def _forked_even_under_the_switch(monkeypatch):
    """These tests are about the forked path: CFZ_TEST_FRESH_PROCESSES=1 must not bypass it."""
    monkeypatch.delenv("CFZ_TEST_FRESH_PROCESSES", raising=False)


def test_a_forked_cfz_is_a_child_of_the_server_not_of_the_test():
    proc = start_cfz("db", "url")
    assert isinstance(proc, CfzProcess)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and out.startswith("postgresql://")
    assert proc.pid != server_pid() and server_pid() is not None


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("db", "url", "--role", "bi_reader"), id="stdout-exit-0"),
        pytest.param(("transform",), id="one-line-error-exit-1"),
        pytest.param(("no-such-command",), id="usage-error-exit-2"),
    ],
)
def test_exit_code_stdout_and_stderr_are_those_of_a_real_process(cluster, args):
    env = {"CFZ_WAREHOUSE_DB": "cfz_never_created_fork"}
    forked, fresh = _both(*args, env=env)
    assert forked == fresh
    if args == ("transform",):
        code, _, err = forked
        assert code == 1 and err.startswith("error: the warehouse database")
        assert len(err.splitlines()) == 1


def test_an_uncaught_exception_exits_1_with_the_traceback_as_python_prints_it(tmp_path):
    """``--debug`` lets an unexpected error propagate out of the entry point: the interpreter
    prints the traceback and exits 1, forked as in a real process."""
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    args = ("--debug", "simulate", "--patients", "2", "--out", str(blocked / "landing"))
    forked = run_cfz(*args, check=False)
    fresh = run_cfz(*args, check=False, fresh_process=True)
    assert forked.returncode == fresh.returncode == 1
    for proc in (forked, fresh):
        assert proc.stderr.startswith("Traceback (most recent call last):")
    assert forked.stderr.splitlines()[-1] == fresh.stderr.splitlines()[-1]
    assert forked.stderr.splitlines()[-1].startswith("NotADirectoryError")


def test_the_environment_and_folder_of_one_call_do_not_reach_the_next(cluster, tmp_path):
    base = {k: v for k, v in os.environ.items() if k != "CFZ_WAREHOUSE_DB"}
    first = run_cfz("db", "url", env={**base, "CFZ_WAREHOUSE_DB": "cfz_leak_probe"})
    assert first.stdout.strip().endswith("/cfz_leak_probe")
    # the whole environment is the one asked for: a variable left out is not there
    second = start_cfz("db", "url", env=base, cwd=tmp_path)
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert out.strip().endswith("/cfz"), out
    third = run_cfz("db", "url", env={**base, "CFZ_WAREHOUSE_DB": "cfz_other"})
    assert third.stdout.strip().endswith("/cfz_other")


def test_a_timeout_kills_the_child_and_a_new_session_is_its_own(warehouse_db):
    """A `cfz validate --wait` blocked on the warehouse lock: past its timeout run_cfz kills it
    and raises TimeoutExpired, as subprocess.run does; started in a new session, it leads
    its own session and process group, as Popen(start_new_session=True) makes it."""
    with warehouse_lock(WAREHOUSE, holder="nightly"):
        started = time.monotonic()
        with pytest.raises(subprocess.TimeoutExpired):
            run_cfz("validate", "--wait", "300", check=False, timeout=3)
        assert time.monotonic() - started < 60
        waiting = start_cfz("validate", "--wait", "300", start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while os.getsid(waiting.pid) != waiting.pid and time.monotonic() < deadline:
                time.sleep(0.05)  # the child calls setsid first thing, once forked
            assert os.getsid(waiting.pid) == waiting.pid
            assert os.getpgid(waiting.pid) == waiting.pid != os.getpgid(0)
            with pytest.raises(subprocess.TimeoutExpired):
                waiting.wait(timeout=1)
            assert waiting.poll() is None
        finally:
            waiting.send_signal(signal.SIGTERM)
            assert waiting.wait(timeout=60) != 0
    assert waiting.returncode == -signal.SIGTERM
    assert _gone(waiting.pid)


@pytest.fixture(scope="module")
def preload_probe() -> dict:
    """What the server's imports (``PRELOAD``) leave in a fresh interpreter that imports them
    as the server does, in one process: the native threads (``/proc/self/task``) before and
    after the last name (``tests.dbt_warmup``, which runs dbt), the Python threads, the open
    sockets, the macro templates dbt-common holds compiled against those the warmup compiled,
    and what was printed."""
    probe = (
        "import json, os, sys, threading\n"
        "tasks = lambda: len(os.listdir('/proc/self/task'))\n"
        "names = sys.argv[1:]\n"
        "for name in names[:-1]: __import__(name)\n"
        "before = tasks()\n"
        "__import__(names[-1])\n"
        "after = tasks()\n"
        "sockets = 0\n"
        "for fd in os.listdir('/proc/self/fd'):\n"
        "    try: sockets += os.readlink(f'/proc/self/fd/{fd}').startswith('socket:')\n"
        "    except OSError: pass  # the listing's own fd, closed\n"
        "threads = [t.name for t in threading.enumerate()]\n"
        "from dbt_common.clients.jinja import template_cache\n"
        "macros = [len(template_cache.file_cache), sys.modules[names[-1]].warmed_macros]\n"
        "print(json.dumps([before, after, threads, sockets, macros]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe, *PRELOAD],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path.cwd(),
    )
    before, after, threads, sockets, (cached, warmed) = json.loads(proc.stdout)
    return {
        "macro_templates_cached": cached,
        "macros_warmed": warmed,
        "tasks_before_warmup": before,
        "tasks_after_warmup": after,
        "threads": threads,
        "sockets": sockets,
        "stderr": proc.stderr,
    }


def test_the_preloaded_modules_start_no_python_thread_and_open_no_socket(preload_probe):
    """What the server imports (``PRELOAD``), imported in a fresh interpreter as the server
    does: only the main thread, and no socket (no connection made at import)."""
    assert preload_probe["threads"] == ["MainThread"], preload_probe
    assert preload_probe["sockets"] == 0, preload_probe
    # nothing printed at import either (a warning printed in the server would be missing
    # from every forked command's stderr)
    assert preload_probe["stderr"] == ""


def test_the_dbt_warmup_starts_no_native_thread(preload_probe):
    """``tests.dbt_warmup`` (the last preloaded name) runs dbt in the server: it must leave no
    thread of any kind behind. A native one (dbt's static parser is Rust with a thread pool)
    does not survive a fork, and every forked ``cfz transform`` then hung in its first parse.
    The server's threads (``/proc/self/task``) are counted before and after it."""
    assert PRELOAD[-1] == "tests.dbt_warmup"
    assert preload_probe["tasks_after_warmup"] == preload_probe["tasks_before_warmup"]


def test_the_dbt_warmup_leaves_every_macro_compiled(preload_probe):
    """A forked ``cfz`` finds each macro of the project's manifest (dbt's, the adapter's, the
    project's) compiled: dbt-common's template cache holds exactly the warmed templates, one
    per distinct macro text, and there are hundreds."""
    assert preload_probe["macros_warmed"] > 100, preload_probe
    assert preload_probe["macro_templates_cached"] == preload_probe["macros_warmed"]


def test_the_switch_makes_every_cfz_a_real_subprocess(cluster, monkeypatch):
    monkeypatch.setenv("CFZ_TEST_FRESH_PROCESSES", "1")
    proc = start_cfz("db", "url")
    assert isinstance(proc, subprocess.Popen)
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0 and out.startswith("postgresql://")
