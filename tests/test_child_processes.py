"""Servers `cfz` starts end with it, children included (issue 24, item 7).

``cfz mlflow-ui`` runs ``mlflow server``, which starts uvicorn workers: stopping ``cfz`` with
SIGTERM (systemd, a supervisor, ``kill``) used to leave them running and holding the port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request

import psutil

from tests.cfz_process import cfz_command
from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def test_sigterm_to_cfz_mlflow_ui_stops_the_mlflow_server_and_its_workers(cluster):
    port = _free_port()
    cfz = subprocess.Popen(
        cfz_command("mlflow-ui", "--port", str(port)),  # a real subprocess: signals, children
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not _answers(f"http://127.0.0.1:{port}/health"):
            assert cfz.poll() is None, "cfz mlflow-ui exited before its UI answered"
            assert time.monotonic() < deadline, "the MLflow UI did not answer within 300 s"
            time.sleep(1)
        descendants = psutil.Process(cfz.pid).children(recursive=True)
        assert len(descendants) >= 1  # mlflow server, and its uvicorn worker

        cfz.send_signal(signal.SIGTERM)
        assert cfz.wait(timeout=30) != 0
        _, alive = psutil.wait_procs(descendants, timeout=10)
        assert alive == [], f"left running: {[(p.pid, p.name()) for p in alive]}"
        assert not _answers(f"http://127.0.0.1:{port}/health")
    finally:
        if cfz.poll() is None:
            cfz.kill()
