"""The loader: one landing file into ``raw.<domain>`` with COPY, in one transaction.

Steps of ``load_file`` (given the file's private copy, ``snapshot.Snapshot``: the bytes that
were hashed are the bytes that are loaded):
1. open the copy (reader) and validate its header; a problem raises ``Quarantine``;
2. add any new columns to ``raw.<domain>`` (own short transaction: empty columns are harmless;
   skipped when the run has already seen them all, ``schema.RawColumns``); when they would
   take the table past ``MAX_RAW_TABLE_COLUMNS``, they are kept instead in the jsonb column
   ``_extra_columns`` (``schema.ensure_columns``): the file is then copied into a temporary
   table shaped like it and moved into raw with its extras as one object per row (nothing
   is lost, the table stays usable);
3. in ONE transaction: reserve a file id; stream every clean record into
   ``COPY raw.<domain> (<columns>, _line, _row_hash, _file_id, _delivery_id, _file)``
   (CSV format; empty values, quoted or not, become NULL), through a writer thread so that
   reading and COPY overlap. A CSV body goes through the chunked fast path
   (``chunks.ChunkedCsv``: clean lines checked a megabyte at a time and passed on as sent,
   other lines record by record); XPT records go through ``chunks.RowSink.careful`` in
   batches. Rejected records are kept aside;
   write the ledger row; COPY the rejects into ``audit.ingest_rejects``; commit.
   An error or a kill anywhere before the commit leaves nothing behind.
4. A file that turns out unreadable part-way (cut-short gzip, mostly undecodable) rolls the
   transaction back and raises ``Quarantine``; any other error rolls it back too and is the
   caller's to judge (``run.is_infrastructure_error``).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice

import psycopg
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from cfz_platform.ingest import hooks, ledger
from cfz_platform.ingest.chunks import CHUNK_BYTES, ChunkedCsv, RowSink, _CsvLine, row_hash
from cfz_platform.ingest.contract import EXTRA_COLUMNS, MAX_RAW_TABLE_COLUMNS
from cfz_platform.ingest.discovery import LandingFile
from cfz_platform.ingest.readers import READ_ERRORS, Unreadable, open_source
from cfz_platform.ingest.schema import RawColumns, ensure_columns
from cfz_platform.ingest.snapshot import Snapshot
from cfz_platform.ingest.validation import (
    HeaderProblem,
    Reject,
    RowChecker,
    check_header,
    renamed_columns_note,
)

__all__ = ["LoadResult", "Quarantine", "load_file", "row_hash"]

BATCH_ROWS = 5_000
#: Lineage columns each COPY line carries after the file's own columns.
COPY_LINEAGE = ("_line", "_row_hash", "_file_id", "_delivery_id", "_file")
#: Temporary table a file with columns over the raw table's bound is copied into first.
OVERFLOW_TABLE = "cfz_load_overflow"


class Quarantine(Exception):
    """The whole file is quarantined; the message is the reason."""


@dataclass
class LoadResult:
    file_id: int
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    rejects_by_kind: Counter = field(default_factory=Counter)
    note: str | None = None


def load_file(
    conn: psycopg.Connection,
    lf: LandingFile,
    snapshot: Snapshot,
    run_id: str,
    started_at: datetime,
    raw_columns: RawColumns | None = None,
) -> LoadResult:
    """Load one landing file atomically (see the module docstring); ``conn`` is autocommit.

    ``raw_columns`` (the run's ``schema.RawColumns``) spares the catalog check of a file whose
    columns the run has already seen; without it the catalog is read under the DDL lock.
    """
    sha256, size = snapshot.sha256, snapshot.size
    try:
        source = open_source(snapshot, lf.ext or ".csv")
        columns = check_header(lf.domain or "", source.header)
    except (Unreadable, HeaderProblem) as exc:
        raise Quarantine(str(exc)) from exc
    renamed = renamed_columns_note(source.header, columns)
    if raw_columns is None:
        overflow = ensure_columns(conn, lf.domain, columns)
    else:
        overflow = raw_columns.ensure(conn, lf.domain, columns)
    checker = RowChecker(lf.domain, columns)
    batch_rows = int(os.environ.get("CFZ_INGEST_COPY_BATCH", BATCH_ROWS))
    copy_into = sql.Identifier(OVERFLOW_TABLE) if overflow else sql.Identifier("raw", lf.domain)
    target = sql.SQL("copy {} ({}) from stdin (format csv, force_null ({}))").format(
        copy_into,
        sql.SQL(", ").join([sql.Identifier(c) for c in (*columns, *COPY_LINEAGE)]),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
    )
    try:
        with conn.transaction(), conn.cursor() as cur:
            if overflow:
                _create_overflow_table(cur, columns)
            file_id = ledger.next_file_id(cur)
            sink = RowSink(
                checker, b"," + _CsvLine()([file_id, lf.delivery_id, lf.rel_path]) + b"\n"
            )
            hooks.crash_point("before_copy", lf.rel_path)
            with cur.copy(target, writer=QueuedLibpqWriter(cur)) as copy:
                for payload in _payloads(source, sink, batch_rows):
                    if payload:
                        copy.write(payload)
                        hooks.crash_point("mid_copy", lf.rel_path)
            if overflow:
                _insert_with_extra_columns(cur, lf.domain, columns, overflow)
            read, loaded, rejects, kinds = sink.read, sink.loaded, sink.rejects, sink.kinds
            rejects.sort(key=lambda r: r.line)
            undecodable = kinds.get("undecodable_bytes", 0)
            if undecodable and undecodable * 2 > read:
                raise Quarantine(
                    f"bad encoding: {undecodable} of {read} rows are not UTF-8 "
                    f"(first at line {source.undecodable_lines[0]}); is the file Latin-1?"
                )
            hooks.crash_point("before_ledger", lf.rel_path)
            blank = (
                f"{len(source.blank_lines)} blank line(s) skipped" if source.blank_lines else None
            )
            extra = (
                f"{len(overflow)} column(s) kept in {EXTRA_COLUMNS} (raw.{lf.domain} is at its "
                f"bound of {MAX_RAW_TABLE_COLUMNS} columns): {', '.join(overflow[:5]).upper()}"
                + (", ..." if len(overflow) > 5 else "")
                if overflow
                else None
            )
            note = "; ".join(n for n in (renamed, blank, extra) if n) or None
            ledger.record(
                cur,
                ledger.LedgerRow(
                    run_id=run_id,
                    delivery_id=lf.delivery_id,
                    domain=lf.domain,
                    file_name=lf.file_name,
                    rel_path=lf.rel_path,
                    sha256=sha256,
                    size_bytes=size,
                    status=ledger.LOADED,
                    reason=note,
                    started_at=started_at,
                    rows_read=read,
                    rows_loaded=loaded,
                    rows_rejected=len(rejects),
                    file_id=file_id,
                ),
            )
            hooks.crash_point("before_rejects", lf.rel_path)
            if rejects:
                _write_rejects(cur, file_id, lf, rejects)
            hooks.crash_point("before_commit", lf.rel_path)
    except Unreadable as exc:
        raise Quarantine(str(exc)) from exc
    hooks.crash_point("after_commit", lf.rel_path)
    return LoadResult(file_id, read, loaded, len(rejects), kinds, note)


def _create_overflow_table(cur: psycopg.Cursor, columns: list[str]) -> None:
    """A temporary table shaped like the file (its columns, then the COPY lineage), dropped
    at commit: a file whose new columns go to ``EXTRA_COLUMNS`` is copied here first."""
    lineage = [("_line", "integer"), ("_row_hash", "text"), ("_file_id", "bigint")]
    lineage += [("_delivery_id", "text"), ("_file", "text")]
    cur.execute(
        sql.SQL("create temporary table {} ({}) on commit drop").format(
            sql.Identifier(OVERFLOW_TABLE),
            sql.SQL(", ").join(
                [sql.SQL("{} text").format(sql.Identifier(c)) for c in columns]
                + [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in lineage]
            ),
        )
    )


def _insert_with_extra_columns(
    cur: psycopg.Cursor, domain: str, columns: list[str], overflow: list[str]
) -> None:
    """Move the copied rows into ``raw.<domain>``: the columns the table has as they are, the
    ``overflow`` ones as one jsonb object per row (empty values left out; null when all are)."""
    kept = [c for c in columns if c not in overflow]
    names = [*kept, *COPY_LINEAGE]
    cur.execute(
        sql.SQL(
            "insert into {} ({}, {}) select {}, "
            "nullif(jsonb_strip_nulls(to_jsonb(t) - %s::text[]), '{{}}'::jsonb) from {} t"
        ).format(
            sql.Identifier("raw", domain),
            sql.SQL(", ").join(sql.Identifier(c) for c in names),
            sql.Identifier(EXTRA_COLUMNS),
            sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in names),
            sql.Identifier(OVERFLOW_TABLE),
        ),
        (names,),
    )


def _payloads(source, sink: RowSink, batch_rows: int):
    """COPY payloads of one file: the chunked fast path for CSV, record batches for XPT."""
    if source.body is not None:
        chunk_bytes = int(os.environ.get("CFZ_INGEST_CHUNK_BYTES", CHUNK_BYTES))
        chunked = ChunkedCsv(
            source.body, sink, source.blank_lines, source.undecodable_lines, chunk_bytes
        )
        try:
            yield from chunked.payloads()
        except READ_ERRORS as exc:
            raise Unreadable(
                f"the file is cut short or corrupt after line {sink.read + len(source.blank_lines) + 1}: {exc}"
            ) from exc
        return
    records = iter(source.records)
    while batch := list(islice(records, batch_rows)):
        yield b"".join(sink.careful(batch))


def _write_rejects(
    cur: psycopg.Cursor, file_id: int, lf: LandingFile, rejects: list[Reject]
) -> None:
    with cur.copy(
        "copy audit.ingest_rejects (file_id, delivery_id, rel_path, line, column_name, value, reason, kind) "
        "from stdin"
    ) as copy:
        for r in rejects:
            copy.write_row(
                (
                    file_id,
                    lf.delivery_id,
                    lf.rel_path,
                    r.line,
                    r.column_name,
                    r.value,
                    r.reason,
                    r.kind,
                )
            )
