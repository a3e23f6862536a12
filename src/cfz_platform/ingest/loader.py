"""The loader: one landing file into ``raw.<domain>`` with COPY, in one transaction.

Steps of ``load_file``:
1. open the file (reader) and validate its header; a problem raises ``Quarantine``;
2. add any new columns to ``raw.<domain>`` (own short transaction: empty columns are harmless);
3. in ONE transaction: reserve a file id; stream every clean record into
   ``COPY raw.<domain> (<columns>, _line, _row_hash, _file_id, _delivery_id, _file)`` in
   batches (CSV format; empty values, quoted or not, become NULL). A quote-free one-line CSV
   record is passed on as sent with the lineage appended (PostgreSQL parses it exactly as
   Python did); other records are re-serialized from the parsed values. Rejected records are
   kept aside;
   write the ledger row; COPY the rejects into ``audit.ingest_rejects``; commit.
   An error or a kill anywhere before the commit leaves nothing behind.
4. A file that turns out unreadable part-way (cut-short gzip, mostly undecodable) rolls the
   transaction back and raises ``Quarantine``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter

import psycopg
from psycopg import sql

from cfz_platform.ingest import hooks, ledger
from cfz_platform.ingest.discovery import LandingFile
from cfz_platform.ingest.readers import Unreadable, open_source
from cfz_platform.ingest.schema import ensure_columns
from cfz_platform.ingest.validation import HeaderProblem, Reject, RowChecker, check_header

BATCH_ROWS = 5_000


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


class _CsvLine:
    """Serialize values as one COPY CSV line (minimal quoting; empty values unquoted = NULL)."""

    def __init__(self) -> None:
        self._buf = io.StringIO()
        # csv quotes a field holding any character of the line terminator: use CR LF so
        # that values with CR or LF are quoted, and strip the terminator afterwards
        self._writer = csv.writer(self._buf, lineterminator="\r\n")

    def __call__(self, values: list) -> bytes:
        self._buf.seek(0)
        self._buf.truncate()
        self._writer.writerow(values)
        return self._buf.getvalue()[:-2].encode("utf-8")


def row_hash(values: list[str]) -> str:
    """``_row_hash``: md5 of the source values joined by commas, in file column order (UTF-8).

    For a CSV line without quotes this is the md5 of the line as sent, which is how the
    loader computes it on its fast path.
    """
    return hashlib.md5(",".join(values).encode("utf-8")).hexdigest()


def _key_getter(positions: list[int]):
    """A fast function returning a record's natural-key values as a tuple."""
    if not positions:
        return lambda fields: ()
    if len(positions) == 1:
        pos = positions[0]
        return lambda fields: (fields[pos],)
    return itemgetter(*positions)


def load_file(conn: psycopg.Connection, lf: LandingFile, run_id: str, sha256: str, size: int,
              started_at: datetime) -> LoadResult:
    """Load one landing file atomically (see the module docstring); ``conn`` is autocommit."""
    try:
        source = open_source(lf.path, lf.ext or ".csv")
        columns = check_header(lf.domain or "", source.header)
    except (Unreadable, HeaderProblem) as exc:
        raise Quarantine(str(exc)) from exc
    ensure_columns(conn, lf.domain, columns)
    checker = RowChecker(lf.domain, columns)
    n = len(columns)
    batch_rows = int(os.environ.get("CFZ_INGEST_COPY_BATCH", BATCH_ROWS))
    serialize = _CsvLine()
    target = sql.SQL("copy {} ({}) from stdin (format csv, force_null ({}))").format(
        sql.Identifier("raw", lf.domain),
        sql.SQL(", ").join(
            [sql.Identifier(c) for c in columns]
            + [sql.Identifier(c) for c in ("_line", "_row_hash", "_file_id", "_delivery_id", "_file")]
        ),
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
    )
    rejects: list[Reject] = []
    kinds: Counter = Counter()
    read = loaded = 0
    md5 = hashlib.md5
    check = checker.check
    keys_of = _key_getter([pos for pos, _ in checker.key_positions])
    try:
        with conn.transaction(), conn.cursor() as cur:
            file_id = ledger.next_file_id(cur)
            tail = b"," + serialize([file_id, lf.delivery_id, lf.rel_path]) + b"\n"
            hooks.crash_point("before_copy", lf.rel_path)
            with cur.copy(target) as copy:
                buf: list[bytes] = []
                for line, fields, flag, raw in source.records:
                    read += 1
                    if flag is not None or len(fields) != n or not all(keys_of(fields)):
                        reject = check(line, fields, flag)
                        if reject is not None:
                            rejects.append(reject)
                            kinds[reject.kind] += 1
                            continue
                    if raw is not None:
                        # fast path: PostgreSQL parses this line exactly as the reader did
                        body = raw.rstrip(b"\r\n")
                        digest = md5(body).hexdigest() if b'"' not in body else row_hash(fields)
                        buf.append(b"%s,%d,%s%s" % (body, line, digest.encode(), tail))
                    else:
                        buf.append(b"%s,%d,%s%s" % (serialize(fields), line, row_hash(fields).encode(), tail))
                    loaded += 1
                    if len(buf) >= batch_rows:
                        copy.write(b"".join(buf))
                        buf.clear()
                        hooks.crash_point("mid_copy", lf.rel_path)
                if buf:
                    copy.write(b"".join(buf))
            undecodable = kinds.get("undecodable_bytes", 0)
            if undecodable and undecodable * 2 > read:
                raise Quarantine(
                    f"bad encoding: {undecodable} of {read} rows are not UTF-8 "
                    f"(first at line {source.undecodable_lines[0]}); is the file Latin-1?"
                )
            hooks.crash_point("before_ledger", lf.rel_path)
            note = f"{len(source.blank_lines)} blank line(s) skipped" if source.blank_lines else None
            ledger.record(cur, ledger.LedgerRow(
                run_id=run_id, delivery_id=lf.delivery_id, domain=lf.domain, file_name=lf.file_name,
                rel_path=lf.rel_path, sha256=sha256, size_bytes=size, status=ledger.LOADED,
                reason=note, started_at=started_at, rows_read=read, rows_loaded=loaded,
                rows_rejected=len(rejects), file_id=file_id,
            ))
            hooks.crash_point("before_rejects", lf.rel_path)
            if rejects:
                _write_rejects(cur, file_id, lf, rejects)
            hooks.crash_point("before_commit", lf.rel_path)
    except Unreadable as exc:
        raise Quarantine(str(exc)) from exc
    hooks.crash_point("after_commit", lf.rel_path)
    return LoadResult(file_id, read, loaded, len(rejects), kinds, note)


def _write_rejects(cur: psycopg.Cursor, file_id: int, lf: LandingFile, rejects: list[Reject]) -> None:
    with cur.copy(
        "copy audit.ingest_rejects (file_id, delivery_id, rel_path, line, column_name, value, reason, kind) "
        "from stdin"
    ) as copy:
        for r in rejects:
            copy.write_row((file_id, lf.delivery_id, lf.rel_path, r.line, r.column_name, r.value, r.reason, r.kind))
