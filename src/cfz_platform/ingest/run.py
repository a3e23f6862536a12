"""One ingestion run over a landing root (usable without Prefect).

Steps of ``run_ingest``:
1. connect to the warehouse; take the run lock (two ingests never overlap); this one
   connection also does the run's bookkeeping (steps 2, 3 and 5);
2. ``ensure_raw_layer`` (audit tables and the seven contract raw tables; DDL only for what is
   missing), which returns the raw tables' columns for the loaders (``schema.RawColumns``:
   a file whose columns were all seen skips the catalog);
3. discover the delivery entries in delivery order (``lstat`` only); fetch the versions of
   their paths already processed (``ledger.known_versions``, one query);
4. per entry (``ingest_file``): anything but a regular file (symbolic link, FIFO, device) is
   quarantined unread; a regular file is read ONCE into a private copy, hashed as it is read
   (``snapshot.read_snapshot``: the bytes hashed are the bytes loaded; a file that changes
   while it is read is quarantined for this run and read again by the next); a file equal
   to its path's latest version is skipped (a path re-sent back to earlier bytes is a new
   version, ``ledger.known_versions``); a file whose name is not a domain is quarantined; otherwise it is loaded
   atomically (``loader.load_file``). Any failure caused by the file's content (unreadable,
   a header PostgreSQL refuses, a corrupt gzip stream, whatever the error) rolls the file's
   transaction back and quarantines it with the reason; only an infrastructure error (the
   connection lost, the server shutting down, out of disk, a lock or statement timeout:
   ``is_infrastructure_error``) stops the run. Files are loaded by ``workers`` threads
   (``CFZ_INGEST_WORKERS``, default 2), each with its own connection and one transaction
   per file: PostgreSQL's side of COPY into the lineage-rich raw tables, not Python, limits
   a single stream (2.0 s against 1.3 s for a 650,000-row file), so two streams use both
   cores; a SIGKILL still takes down the whole process;
5. log progress per file as it completes (names escaped: a newline in a file name cannot
   forge an output line); count the skipped versions on their ledger rows
   (``ledger.mark_seen``, one statement);
6. log the summary lines (unless the caller prints them itself) and return an
   ``IngestSummary`` (files in discovery order). The planner statistics of the tables that
   received rows are refreshed by their next reader, not here: the raw gate (of
   ``cfz transform``, ``cfz validate``, ``cfz cut create``, the nightly) first analyses every
   raw table with files loaded since its last analysis there (``ingest.statistics``), once
   however many ingests came before.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from cfz_platform.db import warehouse
from cfz_platform.ingest import ledger
from cfz_platform.ingest.discovery import LandingFile, compute_unread_fingerprint, discover
from cfz_platform.ingest.loader import Quarantine, load_file
from cfz_platform.ingest.schema import RawColumns, ensure_raw_layer
from cfz_platform.ingest.snapshot import Changed, NotRegular, read_snapshot
from cfz_platform.ingest.summary import FileOutcome, IngestSummary
from cfz_platform.ingest.text import escape_text

log = logging.getLogger("cfz_platform.ingest")

#: SQLSTATE classes that say the database or the machine failed, not the file: connection
#: exception, transaction rollback (deadlock, serialization), insufficient resources (disk,
#: memory), object not in prerequisite state (lock not available), operator intervention
#: (shutdown, statement timeout), system error, internal error.
_INFRASTRUCTURE_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "55", "57", "58", "XX"})


class IngestError(RuntimeError):
    """The run could not start (no landing folder, no warehouse)."""


def run_ingest(
    landing: Path,
    run_id: str | None = None,
    logger: logging.Logger | logging.LoggerAdapter | None = None,
    log_summary: bool = True,
) -> IngestSummary:
    """Ingest every new file version under ``landing``; see the module docstring.

    ``log_summary=False`` leaves the summary lines to the caller (``cfz ingest`` prints them
    on stdout; its progress lines stay on stderr).
    """
    logger = logger or log
    landing = Path(landing).resolve()
    if not landing.is_dir():
        raise IngestError(f"landing folder {landing} does not exist")
    summary = IngestSummary(run_id=run_id or uuid.uuid4().hex[:12], landing=str(landing))
    t0 = time.perf_counter()
    try:
        lock_conn = warehouse.connect(autocommit=True)
    except (warehouse.WarehouseError, psycopg.OperationalError) as exc:
        raise IngestError(f"the warehouse is not reachable: {exc}") from exc
    with lock_conn, ledger.run_lock(lock_conn):
        raw_columns = ensure_raw_layer(lock_conn)
        files, notes = discover(landing)
        summary.notes = notes
        logger.info("ingest %s: %d file(s) in %s", summary.run_id, len(files), landing)
        known = ledger.known_versions(lock_conn, [ledger.stored_text(f.rel_path) for f in files])
        summary.files = _ingest_files(
            files, summary.run_id, logger, compute_workers(len(files)), known, raw_columns
        )
        seen = [
            f.file_id for f in summary.files if f.status == ledger.SKIPPED and f.file_id is not None
        ]
        ledger.mark_seen(lock_conn, summary.run_id, seen)
    summary.seconds = time.perf_counter() - t0
    for line in summary.log_lines() if log_summary else ():
        logger.info(line)
    return summary


def compute_workers(n_files: int, default: int = 2) -> int:
    """Loader threads: ``CFZ_INGEST_WORKERS`` (else ``default``), at most one per file, at least 1."""
    wanted = int(os.environ.get("CFZ_INGEST_WORKERS", default))
    return max(1, min(wanted, n_files))


def _ingest_files(
    files: list[LandingFile],
    run_id: str,
    logger,
    workers: int,
    known: dict[tuple[str, str], tuple[int, str]],
    raw_columns: RawColumns | None = None,
) -> list[FileOutcome]:
    """Ingest ``files`` with ``workers`` threads; outcomes in the order of ``files``.

    Steps: each thread opens its own connection and takes the next file from a shared
    counter until none is left or another thread failed; each completed file is logged with
    its running count; the first unexpected error (files that are merely bad are quarantined,
    not errors) stops the other threads after their current file and is raised.
    """
    outcomes: list[FileOutcome | None] = [None] * len(files)
    state = {"next": 0, "done": 0, "error": None}
    guard = threading.Lock()

    def work() -> None:
        try:
            with warehouse.connect(autocommit=True) as conn:
                while True:
                    with guard:
                        i = state["next"]
                        if i >= len(files) or state["error"] is not None:
                            return
                        state["next"] += 1
                    outcome = ingest_file(conn, files[i], run_id, known, raw_columns)
                    outcomes[i] = outcome
                    with guard:
                        state["done"] += 1
                        done = state["done"]
                    logger.info(
                        "[%d/%d] %s: %s, read %d, loaded %d, rejected %d%s (%.1f s)",
                        done,
                        len(files),
                        escape_text(files[i].rel_path),
                        outcome.status,
                        outcome.rows_read,
                        outcome.rows_loaded,
                        outcome.rows_rejected,
                        f"; {escape_text(outcome.reason)}" if outcome.reason else "",
                        outcome.seconds,
                    )
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread below
            with guard:
                state["error"] = state["error"] or exc

    if workers <= 1:
        work()
    else:
        # each thread runs in a copy of this thread's context: a Prefect flow run's context
        # (its run id) goes with it, so the per-file lines reach the run's log in the UI
        threads = [
            threading.Thread(
                target=contextvars.copy_context().run, args=(work,), name=f"ingest-{k}", daemon=True
            )
            for k in range(workers)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if state["error"] is not None:
        raise state["error"]
    return [o for o in outcomes if o is not None]


def is_infrastructure_error(exc: BaseException, conn: psycopg.Connection) -> bool:
    """True when ``exc`` says the database or the machine failed, not the file being loaded.

    Steps: a closed or broken connection is infrastructure; a PostgreSQL error is when its
    SQLSTATE class is one of ``_INFRASTRUCTURE_SQLSTATE_CLASSES`` (an operational error
    without a SQLSTATE is a client-side connection failure); ``MemoryError`` is; anything
    else (a data or syntax error PostgreSQL raised about the file's columns or values, a
    program limit such as too many columns, a Python error while reading the file) is a
    problem of the file.
    """
    if conn.closed or conn.broken or isinstance(exc, MemoryError):
        return True
    if isinstance(exc, psycopg.Error):
        sqlstate = exc.sqlstate or ""
        if not sqlstate:
            return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
        return sqlstate[:2] in _INFRASTRUCTURE_SQLSTATE_CLASSES
    return False


def compute_failure_reason(exc: BaseException) -> str:
    """One line naming what failed, for a file quarantined on an unexpected error."""
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    if isinstance(exc, psycopg.Error):
        return f"PostgreSQL refused the file: {first} (SQLSTATE {exc.sqlstate})"
    return f"the file could not be read ({type(exc).__name__}: {first or 'no detail'})"


def ingest_file(
    conn: psycopg.Connection,
    lf: LandingFile,
    run_id: str,
    known: dict[tuple[str, str], tuple[int, str]] | None = None,
    raw_columns: RawColumns | None = None,
) -> FileOutcome:
    """Process one landing entry and return its outcome (see the module docstring, step 4).

    ``known`` maps ``(rel_path, sha256)`` to the ``(file_id, status)`` of versions already
    processed (``ledger.known_versions``); without it the ledger is asked for this path.
    ``raw_columns`` is the run's view of the raw tables' columns (``schema.RawColumns``).
    """
    t0 = time.perf_counter()
    started = datetime.now(UTC)
    if known is None:
        known = ledger.known_versions(conn, [ledger.stored_text(lf.rel_path)])
    row = ledger.LedgerRow(
        run_id=run_id,
        delivery_id=lf.delivery_id,
        domain=lf.domain,
        file_name=lf.file_name,
        rel_path=lf.rel_path,
        sha256="",
        size_bytes=0,
        status=ledger.QUARANTINED,
        reason=lf.problem,
        started_at=started,
    )
    snapshot = None
    if not lf.readable:
        row.sha256 = compute_unread_fingerprint(lf)
    else:
        try:
            snapshot = read_snapshot(lf.path, lf.rel_path)
        except Changed as exc:
            row.sha256, row.size_bytes, row.reason, row.read_again = (
                exc.sha256,
                exc.size,
                str(exc),
                True,
            )
        except NotRegular as exc:
            row.sha256, row.reason = compute_unread_fingerprint(lf), str(exc)
        except OSError as exc:
            # ELOOP: swapped for a symbolic link after discovery; ENOENT: removed; EACCES...
            row.sha256 = compute_unread_fingerprint(lf)
            row.reason = (
                f"cannot open the file ({exc.strerror or exc}): not read; the next run tries again"
            )
            row.read_again = True
        else:
            row.sha256, row.size_bytes = snapshot.sha256, snapshot.size
    earlier = (
        known.get((ledger.stored_text(lf.rel_path), row.sha256)) if not row.read_again else None
    )
    if earlier is not None:
        if snapshot is not None:
            snapshot.close()
        reason = f"same content as file_id {earlier[0]} ({earlier[1]})"
        return FileOutcome(
            lf.rel_path,
            lf.domain,
            ledger.SKIPPED,
            earlier[0],
            reason=reason,
            seconds=time.perf_counter() - t0,
        )
    if snapshot is not None:
        with snapshot:
            if lf.problem is None:
                try:
                    result = load_file(conn, lf, snapshot, run_id, started, raw_columns)
                except Quarantine as exc:
                    row.reason = str(exc)
                except Exception as exc:
                    if is_infrastructure_error(exc, conn):
                        raise
                    log.debug("quarantining %s", escape_text(lf.rel_path), exc_info=True)
                    row.reason = compute_failure_reason(exc)
                else:
                    return FileOutcome(
                        lf.rel_path,
                        lf.domain,
                        ledger.LOADED,
                        result.file_id,
                        result.rows_read,
                        result.rows_loaded,
                        result.rows_rejected,
                        dict(result.rejects_by_kind),
                        result.note,
                        time.perf_counter() - t0,
                    )
    file_id = ledger.record(conn, row)
    return FileOutcome(
        lf.rel_path,
        lf.domain,
        row.status,
        file_id,
        reason=row.reason,
        seconds=time.perf_counter() - t0,
    )
