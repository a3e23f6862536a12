"""The tests' `cfz` processes, forked from a server that has the heavy libraries imported (issue 29).

A real ``python -m cfz_platform.cli`` process pays for importing Great Expectations (~4 s),
dbt (~2.5 s), pandas, SQLAlchemy... before it does any work, and the suite starts hundreds of
them. Here each pytest process (xdist worker) lazily starts one ``multiprocessing`` forkserver
that imports only those THIRD-PARTY modules (``PRELOAD``: no Prefect, whose settings are read
at import, and no ``cfz_platform`` module, which reads the environment) and then forks a child
per command. The child is still a separate process running the real command line:

1. a new session when asked (``os.setsid``), as ``Popen(start_new_session=True)``;
2. ``os.environ`` set to exactly the requested environment (clear + update), ``os.chdir(cwd)``,
   ``sys.path`` as a fresh ``python -m`` in that folder has it;
3. file descriptors 1 and 2 redirected to temporary files (``os.dup2``: output of C code and
   of grandchildren lands there too), ``sys.stdout`` / ``sys.stderr`` reopened on them as a
   fresh interpreter opens a pipe;
4. ``sys.argv = ["cfz", *args]`` and ``runpy.run_module("cfz_platform.cli", run_name="__main__",
   alter_sys=True)``, which is what ``python -m cfz_platform.cli`` runs;
5. the exit as the interpreter's: SystemExit's code (None 0, an int itself, anything else
   printed and 1), 1 with the traceback on stderr for an uncaught exception; then the
   non-daemon threads are waited for, the atexit handlers run, the streams are flushed.

``start_cfz`` returns a ``Popen``-like ``CfzProcess`` (pid, poll, wait, communicate, returncode,
kill, terminate, send_signal); ``fresh_process=True``, or ``CFZ_TEST_FRESH_PROCESSES=1`` in the
environment of the test run, gives a real ``subprocess.Popen`` instead (tests about process
start or imports; debugging; proving the two equivalent).
"""

from __future__ import annotations

import atexit
import json
import locale
import os
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import types
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: Set to 1 to run every `cfz` of the tests as a real subprocess.
FRESH_SWITCH = "CFZ_TEST_FRESH_PROCESSES"

#: Imported once in the forkserver: third-party only, none starts a Python thread or opens a
#: connection at import (tests/test_cfz_process.py; the native threads of OpenBLAS and of
#: pyarrow's jemalloc are fork-safe). What they read from the environment at import
#: (TYPER_USE_RICH, PSYCOPG_WAIT_FUNC, DBT_PACKAGE_HUB_URL) is the server's, which no test sets.
#: Not MLflow: it configures its loggers from MLFLOW_LOGGING_LEVEL at import, which the CLI
#: sets first (cli.py), so preloaded it would log differently; with scikit-learn it would save
#: about 1.6 s of CPU per `cfz train`/`score`/`nightly`, a few dozen in the suite.
#: Last, ``tests.dbt_warmup``: two offline ``dbt parse`` runs of the project, so that the code
#: dbt generates on first use (4 s of CPU in a process's first build) is generated once here.
PRELOAD = (
    "numpy",
    "pandas",
    "sqlalchemy",
    "psycopg",
    "typer",
    "great_expectations",
    "dbt.cli.main",
    "dbt.adapters.postgres",
    "tests.dbt_warmup",
)

_server_env = dict(os.environ)  # the environment the forkserver starts in (conftest's, at import)
_context: Any = None
_fresh_sys_path: list[str] | None = None


def cfz_command(*args: str) -> list[str]:
    """The argv of a real `cfz` process: ``python -m cfz_platform.cli ARGS``."""
    return [sys.executable, "-m", "cfz_platform.cli", *args]


def fresh_processes_forced() -> bool:
    """``CFZ_TEST_FRESH_PROCESSES=1``: every `cfz` of the tests is a real subprocess."""
    return os.environ.get(FRESH_SWITCH, "") not in ("", "0")


def _fork_context() -> Any:
    """This process's forkserver context, its server started on first use.

    Steps: take the ``forkserver`` context with ``PRELOAD``; learn once the ``sys.path`` a fresh
    interpreter has besides its script folder (one ``python -c``); start the server in the
    environment the tests started with (so what a library reads at import is the same each
    time, not whatever a test had monkeypatched); stop it at exit (``stop_server``).
    """
    global _context, _fresh_sys_path
    if _context is None:
        import multiprocessing

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(list(PRELOAD))
        probe = subprocess.run(
            [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
            capture_output=True,
            text=True,
            check=True,
            env=_server_env,
        )
        _fresh_sys_path = json.loads(probe.stdout)
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(_server_env)
        try:
            from multiprocessing import forkserver

            with _no_main_module():
                forkserver.ensure_running()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        atexit.register(stop_server)
        _context = ctx
    return _context


def stop_server() -> None:
    """Stop this process's forkserver and wait for it (its CPU time, and its children's, then
    counts in this process's, as a subprocess's does)."""
    from multiprocessing import forkserver

    with suppress(OSError):
        forkserver._forkserver._stop()  # noqa: SLF001


def server_pid() -> int | None:
    """The pid of this process's forkserver (None before the first forked `cfz`)."""
    from multiprocessing import forkserver

    return forkserver._forkserver._forkserver_pid  # noqa: SLF001 - diagnostics only


def _reset_multiprocessing() -> None:
    """Make the child look like a main process, as a fresh interpreter is: named MainProcess,
    no parent, not daemonic, no children, the platform's default start method (the
    forkserver's child has forkserver forced)."""
    import multiprocessing.context

    mp_process = sys.modules["multiprocessing.process"]
    me = mp_process.current_process()
    me._identity, me._name, me._parent_pid, me._popen = (), "MainProcess", None, None  # noqa: SLF001
    me._config["daemon"] = False  # noqa: SLF001
    mp_process._parent_process = None  # noqa: SLF001
    mp_process._children = set()  # noqa: SLF001
    multiprocessing.context._default_context._actual_context = None  # noqa: SLF001
    # the fds the forkserver handed over (this test process's liveness pipe, its resource
    # tracker): closed, so that no server the command leaves running holds them
    server = sys.modules["multiprocessing.forkserver"]._forkserver  # noqa: SLF001
    tracker = sys.modules["multiprocessing.resource_tracker"]._resource_tracker  # noqa: SLF001
    for fd in (server._forkserver_alive_fd, tracker._fd, *(server._inherited_fds or ())):  # noqa: SLF001
        if fd is not None:
            os.close(fd)
    server._forkserver_alive_fd = server._forkserver_address = None  # noqa: SLF001
    server._forkserver_pid = server._inherited_fds = None  # noqa: SLF001
    tracker._fd = tracker._pid = None  # noqa: SLF001


@contextmanager
def _no_main_module() -> Iterator[None]:
    """While a child starts, hide this process's ``__main__`` (the pytest script) from
    multiprocessing: a forkserver child would otherwise run it again as ``__mp_main__``."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _redirect(fd: int, path: str) -> None:
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(target, fd)
    os.close(target)


def _reopen_std_streams(encoding: str) -> None:
    """``sys.stdout`` / ``sys.stderr`` on fds 1 and 2 as a fresh interpreter opens a pipe:
    stdout block-buffered and strict, stderr line-buffered with backslashreplace."""
    import io

    out = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(1, "w", closefd=False)), encoding=encoding, errors="strict"
    )
    err = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(2, "w", closefd=False)),
        encoding=encoding,
        errors="backslashreplace",
        line_buffering=True,
    )
    sys.stdout = sys.__stdout__ = out
    sys.stderr = sys.__stderr__ = err


def compute_exit_code(exc: SystemExit) -> int:
    """The interpreter's exit status for an uncaught SystemExit (its message printed when the
    code is neither None nor an int)."""
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return 1


def _child_main(
    args: list[str],
    env: dict[str, str],
    cwd: str,
    out_path: str,
    err_path: str,
    new_session: bool,
    sigint_ignored: bool,
    fresh_sys_path: list[str],
    encoding: str,
) -> None:
    """Run ``cfz ARGS`` in this forked child as ``python -m cfz_platform.cli`` would, then exit.

    Steps: fds 1 and 2 to the files (so that even a failure here is in them); the session, the
    multiprocessing state, SIGINT as a fresh interpreter has it; the environment, folder and
    ``sys.path``; the CLI as ``__main__``;
    the exit code, non-daemon threads, atexit handlers and flushed streams as at interpreter
    exit; ``os._exit``.
    """
    _redirect(1, out_path)
    _redirect(2, err_path)
    _reopen_std_streams(encoding)
    if new_session:
        os.setsid()
    _reset_multiprocessing()
    signal.signal(signal.SIGINT, signal.SIG_IGN if sigint_ignored else signal.default_int_handler)
    os.environ.clear()
    os.environ.update(env)
    time.tzset()  # a fresh interpreter reads TZ at start
    os.chdir(cwd)
    sys.path[:] = [cwd, *fresh_sys_path]
    sys.argv = ["cfz", *args]
    try:
        runpy.run_module("cfz_platform.cli", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = compute_exit_code(exc)
    except BaseException:  # noqa: BLE001 - printed as the interpreter prints it
        sys.excepthook(*sys.exc_info())
        code = 1
    try:
        threading._shutdown()  # noqa: SLF001 - the interpreter waits for non-daemon threads
        atexit._run_exitfuncs()  # noqa: SLF001
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):  # a stream closed by the command: as the interpreter
            stream.flush()
    os._exit(code & 0xFF)


class CfzProcess:
    """A `cfz` forked from the forkserver, used as a ``subprocess.Popen`` with text pipes."""

    def __init__(
        self, args: list[str], env: dict[str, str], cwd: Path, start_new_session: bool
    ) -> None:
        self.args = cfz_command(*args)
        self._dir = tempfile.mkdtemp(prefix="cfz-out-")
        self._out = os.path.join(self._dir, "stdout")
        self._err = os.path.join(self._dir, "stderr")
        # the folder goes once the output is read, or with this object (a test that only waited)
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, ignore_errors=True)
        self._encoding = locale.getpreferredencoding(False)
        self._result: tuple[str, str] | None = None
        self.returncode: int | None = None
        ctx = _fork_context()
        self._process = ctx.Process(
            target=_child_main,
            args=(
                list(args),
                dict(env),
                str(cwd),
                self._out,
                self._err,
                start_new_session,
                signal.getsignal(signal.SIGINT) is signal.SIG_IGN,
                _fresh_sys_path,
                self._encoding,
            ),
            name="cfz",
        )
        with _no_main_module():
            self._process.start()
        self.pid: int = self._process.pid

    def poll(self) -> int | None:
        """The exit code, or None while it runs."""
        if self.returncode is None:
            self.returncode = self._process.exitcode
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit; ``subprocess.TimeoutExpired`` when it runs past ``timeout``."""
        if self.poll() is None:
            self._process.join(timeout)
            if self.poll() is None:
                raise subprocess.TimeoutExpired(self.args, timeout)
        return self.returncode  # type: ignore[return-value]

    def communicate(self, timeout: float | None = None) -> tuple[str, str]:
        """Wait for the exit, then (stdout, stderr) as text, newlines translated like a text
        pipe's; ``subprocess.TimeoutExpired`` past ``timeout`` (the child keeps running)."""
        self.wait(timeout)
        if self._result is None:
            self._result = (self._read(self._out), self._read(self._err))
            self._cleanup()
        return self._result

    def _read(self, path: str) -> str:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            return ""
        return data.decode(self._encoding).replace("\r\n", "\n").replace("\r", "\n")

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the child, unless it has already exited."""
        if self.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start_cfz(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    start_new_session: bool = False,
    fresh_process: bool = False,
) -> CfzProcess | subprocess.Popen:
    """Start ``cfz ARGS`` with ``env`` (the whole environment; this process's when None) in
    ``cwd``: forked from the forkserver, or a real subprocess with text pipes when
    ``fresh_process`` or ``CFZ_TEST_FRESH_PROCESSES=1``."""
    full_env = dict(os.environ if env is None else env)
    if fresh_process or fresh_processes_forced():
        return subprocess.Popen(
            cfz_command(*args),
            env=full_env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=start_new_session,
        )
    return CfzProcess(list(args), full_env, cwd, start_new_session)


def run_cfz_process(
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path = ROOT,
    timeout: float | None = None,
    fresh_process: bool = False,
) -> subprocess.CompletedProcess:
    """``subprocess.run(cfz ARGS, capture_output=True, text=True)`` through ``start_cfz``: on
    a timeout the child is killed and ``subprocess.TimeoutExpired`` raised."""
    proc = start_cfz(*args, env=env, cwd=cwd, fresh_process=fresh_process)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cfz_command(*args), proc.returncode, out, err)
