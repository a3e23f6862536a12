"""A long-running local Prefect server backed by the project's PostgreSQL.

Prefect's ephemeral server costs ~15 s at every flow start; a server that keeps running
between commands costs that once. Its state lives in the database ``<warehouse>_prefect``
on the same PostgreSQL as the warehouse; its address and pid in ``.cfz/prefect-server.json``,
its log in ``.cfz/prefect-server.log``.

``CFZ_PREFECT_INSTANCE`` (default ``prefect``) names another server beside it: its database
``<warehouse>_<instance>``, files ``.cfz/<instance>-server.json`` and ``.log``. The test suite
runs its flows against an instance of its own, so it never writes into the developer's.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

from cfz_platform.child_processes import stop_process_group
from cfz_platform.config import DEFAULT_WAREHOUSE_DB, state_dir
from cfz_platform.db import warehouse

log = logging.getLogger(__name__)


def instance_name(instance: str | None = None) -> str:
    """``instance``, else the one this process uses (``CFZ_PREFECT_INSTANCE``, default
    ``prefect``)."""
    name = instance or os.environ.get("CFZ_PREFECT_INSTANCE", "").strip() or "prefect"
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", name):
        raise ValueError(
            f"CFZ_PREFECT_INSTANCE={name!r}: use lower-case letters, digits and _ (at most 41)"
        )
    return name


def _info_path() -> Path:
    return state_dir() / f"{instance_name()}-server.json"


def log_path(instance: str | None = None) -> Path:
    """The server's log file (``.cfz/prefect-server.log`` for the default instance)."""
    return state_dir() / f"{instance_name(instance)}-server.log"


def database_name(instance: str | None = None) -> str:
    """The Prefect server's own database on the warehouse server (``cfz_prefect``)."""
    return f"{warehouse.settings(DEFAULT_WAREHOUSE_DB).dbname}_{instance_name(instance)}"


def api_answers(api_url: str, timeout: float = 2.0) -> bool:
    """True when ``<api_url>/health`` answers 200 within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(f"{api_url}/health", timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _connect_for_ddl() -> psycopg.Connection:
    """An autocommit connection for CREATE/DROP DATABASE: to the warehouse's own database,
    not ``postgres`` (a managed server may refuse the pipeline user that one)."""
    return psycopg.connect(warehouse.settings().url(), autocommit=True)


def prefect_database_url() -> str | None:
    """SQLAlchemy URL (asyncpg) of the Prefect server's own database, created when missing.

    Returns None when the warehouse user may not create it (Prefect then keeps its state in
    SQLite under ``.cfz/prefect``).
    """
    owner = warehouse.settings(DEFAULT_WAREHOUSE_DB)
    name = database_name()
    try:
        conn = _connect_for_ddl()
    except psycopg.OperationalError as exc:
        log.warning(
            "cannot check the Prefect database (%s); the Prefect server will use SQLite",
            str(exc).strip().splitlines()[-1],
        )
        return None
    with conn:
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
    return info["api_url"] if api_answers(info["api_url"]) else None


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
    log_file = open(log_path(), "ab")  # noqa: SIM115 - handed to the child
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
                f"the Prefect server exited at start (code {proc.returncode}); see {log_path()}"
            )
        if api_answers(api_url):
            _info_path().write_text(json.dumps({"api_url": api_url, "pid": proc.pid, "port": port}))
            return api_url, True
        time.sleep(0.5)
    proc.terminate()
    raise RuntimeError(
        f"the Prefect server did not answer within {timeout:.0f} s; see {log_path()}"
    )


def stop(grace_seconds: float = 15.0) -> bool:
    """Stop our server and every process it started. Returns False when none was running.

    Steps: send SIGTERM to the server's process group (the server and its uvicorn and
    service children); wait up to ``grace_seconds`` for the group to be gone; SIGKILL what
    is left; forget the recorded address.
    """
    path = _info_path()
    if not path.exists():
        return False
    info = json.loads(path.read_text())
    path.unlink()
    return stop_process_group(info["pid"], grace_seconds)


def drop_database(instance: str | None = None) -> None:
    """Drop an instance's Prefect database (its server must be stopped)."""
    with _connect_for_ddl() as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(database_name(instance))
            )
        )


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
