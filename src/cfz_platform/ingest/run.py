"""One ingestion run over a landing root (usable without Prefect).

Steps of ``run_ingest``:
1. connect to the warehouse; take the run lock (two ingests never overlap);
2. ``ensure_raw_layer`` (audit tables and the seven contract raw tables);
3. discover the delivery files in delivery order;
4. per file: fingerprint (sha256, size); skip a version already processed (ledger row
   ``skipped_duplicate``); quarantine a file whose name is not a domain; otherwise load it
   atomically (``loader.load_file``), quarantining it when it proves unreadable;
5. log progress per file and return an ``IngestSummary``.
"""

from __future__ import annotations

import logging
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from cfz_platform.db import warehouse
from cfz_platform.ingest import hooks, ledger
from cfz_platform.ingest.discovery import LandingFile, discover
from cfz_platform.ingest.loader import Quarantine, load_file
from cfz_platform.ingest.schema import ensure_raw_layer
from cfz_platform.ingest.summary import FileOutcome, IngestSummary

log = logging.getLogger("cfz_platform.ingest")

#: Errors caused by a file's content that PostgreSQL refuses: quarantine the file, go on.
_CONTENT_ERRORS = (psycopg.errors.DataError, psycopg.errors.ProgramLimitExceeded)


class IngestError(RuntimeError):
    """The run could not start (no landing folder, no warehouse)."""


def run_ingest(landing: Path, run_id: str | None = None, logger: logging.Logger | logging.LoggerAdapter | None = None) -> IngestSummary:
    """Ingest every new file version under ``landing``; see the module docstring."""
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
    with lock_conn, ledger.run_lock(lock_conn), warehouse.connect(autocommit=True) as conn:
        ensure_raw_layer(conn)
        files, notes = discover(landing)
        summary.notes = notes
        logger.info("ingest %s: %d file(s) in %s", summary.run_id, len(files), landing)
        for i, lf in enumerate(files, 1):
            outcome = ingest_file(conn, lf, summary.run_id)
            summary.files.append(outcome)
            logger.info(
                "[%d/%d] %s: %s, read %d, loaded %d, rejected %d%s (%.1f s)", i, len(files), lf.rel_path,
                outcome.status, outcome.rows_read, outcome.rows_loaded, outcome.rows_rejected,
                f"; {outcome.reason}" if outcome.reason else "", outcome.seconds,
            )
    summary.seconds = time.perf_counter() - t0
    for line in summary.log_lines():
        logger.info(line)
    return summary


def ingest_file(conn: psycopg.Connection, lf: LandingFile, run_id: str) -> FileOutcome:
    """Process one landing file and return its outcome (its ledger row is written)."""
    t0 = time.perf_counter()
    started = datetime.now(UTC)
    sha256, size = ledger.fingerprint(lf.path)
    hooks.crash_point("after_hash", lf.rel_path)
    row = ledger.LedgerRow(
        run_id=run_id, delivery_id=lf.delivery_id, domain=lf.domain, file_name=lf.file_name,
        rel_path=lf.rel_path, sha256=sha256, size_bytes=size, status=ledger.QUARANTINED,
        reason=lf.problem, started_at=started,
    )
    earlier = ledger.find_version(conn, lf.rel_path, sha256)
    if earlier is not None:
        row.status = ledger.SKIPPED
        row.reason = f"same content as file_id {earlier[0]} ({earlier[1]})"
    elif lf.problem is None:
        try:
            result = load_file(conn, lf, run_id, sha256, size, started)
        except Quarantine as exc:
            row.reason = str(exc)
        except _CONTENT_ERRORS as exc:
            row.reason = f"PostgreSQL refused the file: {str(exc).splitlines()[0]}"
        else:
            return FileOutcome(
                lf.rel_path, lf.domain, ledger.LOADED, result.file_id, result.rows_read, result.rows_loaded,
                result.rows_rejected, dict(result.rejects_by_kind), result.note, time.perf_counter() - t0,
            )
    with conn.transaction(), conn.cursor() as cur:
        file_id = ledger.record(cur, row)
    return FileOutcome(lf.rel_path, lf.domain, row.status, file_id, reason=row.reason, seconds=time.perf_counter() - t0)
