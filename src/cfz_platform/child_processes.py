"""Child servers that end with the command that started them, children included.

``cfz mlflow-ui`` runs ``mlflow server``, which starts uvicorn workers of its own; the local
Prefect server starts its services. Signalling only the direct child leaves the grandchildren
running (and holding the port). Each such child therefore gets a process group of its own
(``start_new_session``), and the whole group is stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence

_FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def stop_process_group(pgid: int, grace_seconds: float = 15.0) -> bool:
    """SIGTERM the process group ``pgid``, wait for it to end, SIGKILL it after the grace.

    Steps: send SIGTERM to the group; poll until no process of it is left (reaping our own
    child when it is ours); after ``grace_seconds`` send SIGKILL. Returns False when the
    group had already gone.
    """
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(-pgid, os.WNOHANG)
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    return True


def run_in_foreground(cmd: Sequence[str], env: dict[str, str] | None = None) -> int:
    """Run ``cmd`` until it ends or this process is told to stop; return its exit status.

    Steps:
    1. start ``cmd`` in a process group of its own;
    2. while it runs, SIGTERM, SIGINT (Ctrl-C) and SIGHUP sent to this process stop the
       whole group (``stop_process_group``) instead of killing this process alone;
    3. whatever ends the wait, no process of the group outlives this function.
    """
    proc = subprocess.Popen(list(cmd), env=env, start_new_session=True)
    stopping = {"signal": None}

    def forward(signum: int, _frame) -> None:
        stopping["signal"] = signum
        stop_process_group(proc.pid)

    previous = {sig: signal.signal(sig, forward) for sig in _FORWARDED}
    try:
        code = proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        stop_process_group(proc.pid, grace_seconds=5.0)
    return 128 + stopping["signal"] if stopping["signal"] else code
