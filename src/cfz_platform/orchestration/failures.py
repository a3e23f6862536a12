"""Name the infrastructure cause of a failure: the Prefect API gone, a refused password.

A step that fails because the Prefect server stopped answering fails late (every API call
retries for about a minute) and names whatever call it was in (a gate's artifact). These
functions let the nightly and the command line name the real cause, with the log to read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import psycopg

from cfz_platform.config import state_dir


class PrefectApiLost(RuntimeError):
    """The Prefect API stopped answering during a run; the message names it and its log."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from or during, each once."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def prefect_api_url() -> str | None:
    """The Prefect API this process reports to (None: an ephemeral in-process server)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or os.environ.get("PREFECT_API_URL") or None


def prefect_api_answers(api_url: str, timeout: float = 3.0) -> bool:
    """True when ``<api_url>/health`` answers 200 within ``timeout`` seconds."""
    from cfz_platform.orchestration.prefect_server import api_answers

    return api_answers(api_url, timeout)


def compute_api_lost_message(api_url: str) -> str:
    """One line naming the lost Prefect API and the log that says why it stopped.

    Steps: the local server (``cfz prefect start``, its address in
    ``.cfz/prefect-server.json``) logs to ``.cfz/prefect-server.log``: name that file and the
    restart command; for another server, name its address only."""
    log_path = state_dir() / "prefect-server.log"
    info = state_dir() / "prefect-server.json"
    if info.exists() and api_url in info.read_text():
        where = f"see {log_path} for why, restart it with `cfz prefect start`"
    else:
        where = "see that server's log for why, start it again"
    return f"the Prefect API at {api_url} stopped answering: {where}, and rerun"


def check_prefect_api() -> None:
    """Raise ``PrefectApiLost`` at once when the Prefect API of this run stopped answering.

    Steps: nothing to check for an ephemeral in-process server (no URL); probe ``/health``
    twice (a busy server may miss one probe); raise naming the API and its log."""
    api_url = prefect_api_url()
    if api_url is None:
        return
    if prefect_api_answers(api_url) or prefect_api_answers(api_url):
        return
    raise PrefectApiLost(compute_api_lost_message(api_url))


def _is_transport_error(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, httpx.TransportError)


def is_api_lost(exc: BaseException) -> bool:
    """True when ``exc`` came from the Prefect API going away (and it still does not answer)."""
    chain = list(_chain(exc))
    if any(isinstance(item, PrefectApiLost) for item in chain):
        return True
    if not any(_is_transport_error(item) for item in chain):
        return False
    api_url = prefect_api_url()
    return bool(api_url) and not prefect_api_answers(api_url)


def compute_known_cause(exc: BaseException) -> str | None:
    """One line naming an infrastructure cause found in ``exc``'s chain, or None.

    Steps, first match wins: a ``PrefectApiLost`` or a ``WarehouseError`` (their messages say
    what to do); a refused warehouse password (where to fix it); a warehouse database that
    does not exist (how to create it); a connection error of the HTTP client while the
    Prefect API does not answer (the API and its log)."""
    from cfz_platform.db import warehouse

    chain = list(_chain(exc))
    for item in chain:
        if isinstance(item, PrefectApiLost | warehouse.WarehouseError):
            return _first_line(item)
    for item in chain:
        if isinstance(item, psycopg.OperationalError) and warehouse._refused_password(item):
            try:
                return warehouse.compute_password_fix(warehouse.settings())
            except warehouse.WarehouseError:
                return _first_line(item)
    for item in chain:
        if isinstance(item, psycopg.OperationalError) and (
            missing := MISSING_DATABASE.search(str(item))
        ):
            return compute_missing_database_fix(missing.group(1))
    if is_api_lost(exc):
        return compute_api_lost_message(prefect_api_url() or "")
    return None


#: libpq's message for a database the server does not have (SQLSTATE 3D000).
MISSING_DATABASE = re.compile(r'database "([^"]+)" does not exist')


def compute_missing_database_fix(dbname: str) -> str:
    """What to do when the warehouse database ``dbname`` does not exist on the server."""
    return (
        f"the warehouse database {dbname!r} does not exist: create it with 'cfz db start' "
        "(it creates the database CFZ_WAREHOUSE_DB names, with its schemas and roles), or set "
        "CFZ_WAREHOUSE_DB / CFZ_DATABASE_URL to an existing one"
    )


def _first_line(exc: BaseException) -> str:
    return next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
