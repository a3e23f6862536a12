"""A long-running local Prefect server backed by the project's PostgreSQL.

Prefect's ephemeral server costs ~15 s at every flow start; a server that keeps running
between commands costs that once. Its state lives in the database ``<warehouse>_prefect``
on the same PostgreSQL as the warehouse; its address and pid in ``.cfz/prefect-server.json``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

from cfz_platform.config import DEFAULT_WAREHOUSE_DB, state_dir
from cfz_platform.db import warehouse

log = logging.getLogger(__name__)


def _info_path() -> Path:
    return state_dir() / "prefect-server.json"


def _healthy(api_url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prefect_database_url() -> str | None:
    """SQLAlchemy URL (asyncpg) of the Prefect server's own database, created when missing.

    Returns None when the warehouse user may not create it (Prefect then keeps its state in
    SQLite under ``.cfz/prefect``).
    """
    owner = warehouse.settings(DEFAULT_WAREHOUSE_DB)
    name = f"{owner.dbname}_prefect"
    with psycopg.connect(owner.url("postgres"), autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            try:
                conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
            except psycopg.errors.InsufficientPrivilege:
                log.warning("may not create database %s; the Prefect server will use SQLite", name)
                return None
            # Prefect's state is not for other roles (bi_reader): its owner only
            conn.execute(
                sql.SQL("revoke connect, temporary on database {} from public").format(
                    sql.Identifier(name)
                )
            )
    return owner.url(name, driver="postgresql+asyncpg")


def running_api_url() -> str | None:
    """The API URL of our server when it is up, else None."""
    path = _info_path()
    if not path.exists():
        return None
    info = json.loads(path.read_text())
    return info["api_url"] if _healthy(info["api_url"]) else None


def start(timeout: float = 120.0) -> tuple[str, bool]:
    """Start the server unless it runs already. Returns (api_url, started_now).

    Steps:
    1. return the recorded URL when its /health answers;
    2. create the Prefect database on the warehouse server if needed;
    3. spawn ``prefect server start`` detached (own session), logging to
       ``.cfz/prefect-server.log``;
    4. wait for /health, then record URL and pid.
    """
    url = running_api_url()
    if url:
        return url, False
    port = _free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_API_URL": api_url}
    db_url = prefect_database_url()
    if db_url:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = db_url
    env.pop("PREFECT_API_URL", None)
    log_file = open(state_dir() / "prefect-server.log", "ab")  # noqa: SIM115 - handed to the child
    prefect_bin = Path(sys.executable).with_name("prefect")
    proc = subprocess.Popen(
        [str(prefect_bin), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"the Prefect server exited at start (code {proc.returncode}); see .cfz/prefect-server.log"
            )
        if _healthy(api_url):
            _info_path().write_text(json.dumps({"api_url": api_url, "pid": proc.pid, "port": port}))
            return api_url, True
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(
        f"the Prefect server did not answer within {timeout:.0f} s; see .cfz/prefect-server.log"
    )


def stop() -> bool:
    """Stop our server. Returns False when none was running."""
    path = _info_path()
    if not path.exists():
        return False
    info = json.loads(path.read_text())
    path.unlink()
    try:
        os.killpg(info["pid"], signal.SIGTERM)
    except ProcessLookupError:
        return False
    return True


def use_local_server(start_if_needed: bool = True) -> str | None:
    """Point this process's Prefect client at the local server (starting it if asked).

    An explicit ``PREFECT_API_URL`` in the environment always wins.
    """
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    url = running_api_url()
    if url is None and start_if_needed:
        log.info("starting the local Prefect server (first time only, ~15 s)")
        url, _ = start()
    if url:
        os.environ["PREFECT_API_URL"] = url
    return url
