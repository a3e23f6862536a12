"""Readers: turn one landing file into a header and a stream of raw records.

A reader never decides what is loaded; it reports what it saw. Each record is a tuple
``(line, fields, flag)``:
- ``line``: the physical line where the record starts (CSV; header = 1) or the record number
  (XPT, first record = 1);
- ``fields``: the values as text (``""`` for empty/missing);
- ``flag``: ``None`` for a clean record, else one of ``UNDECODABLE``, ``NUL``, or a CSV parser
  message starting with ``"csv:"``;
- ``raw``: the record's bytes as sent (line terminator included) when it is one physical CSV
  line, else ``None`` (multi-line records, XPT). The loader passes such lines on untouched.

A CSV ``Source`` also hands over ``body``, the open binary file positioned after the header,
for the chunked fast path (``ingest.chunks``); a caller uses either ``records`` or ``body``.

Problems that make the whole file unreadable raise ``Unreadable`` (the file is quarantined).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import mmap
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from cfz_platform.ingest.record_limit import (
    BoundedLineReader,
    max_record_bytes,
    parse_oversized_marker,
)
from cfz_platform.ingest.snapshot import Snapshot

UNDECODABLE = "undecodable"
#: Flag of a record over the size limit: ``toolarge:<last line>:<bytes>:<limit>``.
TOO_LARGE = "toolarge:"
NUL = "nul"
XPT_RECORD = 80
XPT_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
XPT_LIB_HEADER = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
XPT_CHUNK_ROWS = 20_000
MAX_RECORD_LINES = 1_000
#: Characters of an oversized record kept as the reject's value.
_OVERSIZED_KEEP = 100_000
#: One CSV line whose every field is either unquoted (no quote, CR) or fully quoted with
#: doubled inner quotes: such a line is parsed identically by Python's csv and PostgreSQL.
_FIELD = r'(?:[^",\r\n]*|"(?:[^"\r\n]|"")*")'
_RFC4180_LINE = re.compile(rf"{_FIELD}(?:,{_FIELD})*\Z")

csv.field_size_limit(2**31 - 1)

Record = tuple[int, list[str], str | None, bytes | None]


class Unreadable(Exception):
    """The file cannot be read at all; the message is the quarantine reason."""


@dataclass
class Source:
    """An opened landing file: its header and an iterator over its records."""

    header: list[str]
    records: Iterator[Record]
    #: physical lines that held no bytes at all (skipped, not rows), filled while iterating.
    blank_lines: list[int]
    #: data lines that could not be decoded as UTF-8, filled while iterating.
    undecodable_lines: list[int]
    #: CSV only: the binary file positioned after the header line (closed by whoever reads it).
    body: io.BufferedIOBase | None = None


# ------------------------------------------------------------------------------------ CSV


#: What a cut-short or corrupt file (a gzip stream above all) raises while it is read.
READ_ERRORS = (OSError, EOFError, gzip.BadGzipFile, zlib.error)


def _open_binary(stream: io.BufferedIOBase, gz: bool) -> io.BufferedIOBase:
    if gz:
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


def _decode_header(raw: bytes) -> str:
    """Decode the header line, or explain why the file's encoding is wrong.

    Steps: reject UTF-16/32 byte-order marks and NUL bytes (a wide encoding); drop a UTF-8
    BOM; decode strictly as UTF-8.
    """
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or raw[:4] in (
        b"\x00\x00\xfe\xff",
        b"\xff\xfe\x00\x00",
    ):
        raise Unreadable(
            "bad encoding: the file is UTF-16/UTF-32 (byte-order mark); feeds must be UTF-8"
        )
    if b"\x00" in raw:
        raise Unreadable(
            "bad encoding: NUL bytes in the header line (UTF-16?); feeds must be UTF-8"
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(
            f"bad encoding: the header line is not UTF-8 ({exc.reason} at byte {exc.start})"
        ) from exc


def open_csv(stream: io.BufferedIOBase, gz: bool = False) -> Source:
    """Open a CSV or CSV.GZ file, given as a binary stream (UTF-8, comma, RFC 4180 quoting).

    Steps:
    1. read the first physical line and decode it strictly (else ``Unreadable``); an empty
       file, a blank header or one larger than the record limit is ``Unreadable``; every
       line is read through ``record_limit.BoundedLineReader`` (memory stays bounded);
    2. stream the records of the remaining lines (``_csv_records``), each with the physical
       line it starts on.
    """
    try:
        fh = BoundedLineReader(_open_binary(stream, gz))
        first = fh.readline()
    except READ_ERRORS as exc:
        raise Unreadable(
            f"cannot read the file{' (corrupt gzip stream)' if gz else ''}: {exc}"
        ) from exc
    oversized = parse_oversized_marker(first)
    if oversized is not None:
        fh.close()
        raise Unreadable(
            f"the header line is {oversized:,} bytes, larger than the limit of {fh.limit:,} "
            "bytes per record (CFZ_INGEST_MAX_RECORD_BYTES)"
        )
    if not first.strip():
        fh.close()
        raise Unreadable("empty file (no header line)")
    header_text = _decode_header(first)
    if "\r" in header_text.rstrip("\r\n"):
        fh.close()
        raise Unreadable(
            "the lines end with a bare CR (classic Mac OS): feeds must end lines with LF or CR LF"
        )
    try:
        header = next(csv.reader([header_text]))
    except (csv.Error, StopIteration) as exc:
        fh.close()
        raise Unreadable(f"the header line cannot be parsed as CSV: {exc}") from exc
    header = [h.strip() for h in header]
    blank: list[int] = []
    undecodable: list[int] = []
    return Source(header, _csv_records(fh, len(header), blank, undecodable), blank, undecodable, fh)


def _decode_line(lineno: int, raw: bytes, undecodable: list[int]) -> tuple[str, str | None]:
    """Decode one physical line: ``(text, flag)``; see ``_csv_records`` step 1."""
    oversized = parse_oversized_marker(raw)
    if oversized is not None:  # a line over the record limit, skipped unread
        return "", f"{TOO_LARGE}{lineno}:{oversized}:{max_record_bytes()}"
    flag = None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("utf-8", "surrogateescape")
        flag = UNDECODABLE
        undecodable.append(lineno)
    if flag is None and "\x00" in text:
        flag = NUL
    return text, flag


def _csv_records(
    fh,
    n_fields: int,
    blank: list[int],
    undecodable: list[int],
    first_line: int = 2,
    more: Callable[[], bytes] | None = None,
) -> Iterator[Record]:
    """Yield the records of a CSV body (after the header); see ``open_csv``.

    ``fh`` is any iterable of LF-terminated byte lines (an open file, closed at the end, or a
    list of lines), the first of them being physical line ``first_line``. ``more`` (optional)
    gives the physical lines after ``fh`` (``b""`` at the end of the file); it is called only
    while a quoted field is open at the end of ``fh`` (the chunked path hands on the rest of
    the file this way, so a record is never cut at a chunk boundary).

    Steps per physical line (split on LF):
    1. decode as UTF-8 (on failure decode with ``surrogateescape`` and flag ``UNDECODABLE``);
       flag ``NUL`` when it holds a NUL;
    2. a line with no quote character is one record: split on commas (what ``csv`` would do,
       far faster) and hand on the raw bytes too, since PostgreSQL parses it the same way;
       a bare CR inside such a line is a malformed record; a line with well-formed quoting
       (``_RFC4180_LINE``) is parsed by ``csv`` and its raw bytes handed on as well;
    3. a line with quotes is parsed by ``csv``; an odd number of quotes opens a quoted field
       that continues on the next lines (RFC 4180) until the count is even again, and the
       block is parsed as one record; a block that does not give exactly one record of the
       right width is parsed again line by line, so a stray quote cannot swallow the rest;
    4. a quoted field over the record limit (``record_limit.max_record_bytes``: one record of
       that many bytes, its closing quote still ahead) is read on to its closing quote without
       keeping it and rejected as one record (flag ``toolarge:<last line>:<bytes>:<limit>``),
       unless the lines after its opening one read as records (a stray quote, below); a
       physical line over the limit arrives as a marker line and is rejected the same way;
       a quoted field still open after ``MAX_RECORD_LINES`` lines (or at the end of the file):
       when most lines after the opening one read as records of the right width on their
       own, the opening line holds a stray quote: that line alone is rejected and reading
       goes on from the next line; otherwise the field really is that long: every line up to
       its closing quote (or the end of the file) is ONE record, rejected as one unit with
       one reason (flag ``oversized:<last line>:<1 if it ran to the end of the file>``).
    """
    source = iter(fh)
    pushback: list[tuple[int, bytes, str, str | None]] = []  # lines to read again (last first)
    block: list[tuple[int, bytes, str, str | None]] = []  # an open quoted field's lines
    block_bytes = 0  # bytes of the open quoted field
    limit = max_record_bytes()
    quotes = 0
    lineno = first_line - 1

    def next_line() -> tuple[int, bytes, str, str | None] | None:
        nonlocal lineno
        if pushback:
            return pushback.pop()
        raw = next(source, None)
        if raw is None and block and more is not None:
            raw = more() or None
        if raw is None:
            return None
        lineno += 1
        return (lineno, raw, *_decode_line(lineno, raw, undecodable))

    def close_open_field(too_large: bool = False) -> Iterator[Record]:
        """Step 4: the stray quote (one line rejected, the rest read again) or one oversized
        record (``too_large``: over the byte limit, else over ``MAX_RECORD_LINES`` lines)."""
        nonlocal quotes
        start, _, first_text, first_flag = block[0]
        if len(block) == 1 or _stray_quote([b[2] for b in block[1:]], n_fields):
            yield (
                start,
                [first_text.rstrip("\r\n")],
                "csv: unbalanced quote (a quoted field opened on this line never closes)",
                None,
            )
            pushback.extend(reversed(block[1:]))
            return
        kept = [b[2] for b in block]
        size = sum(map(len, kept))
        total = block_bytes
        last, at_end = block[-1][0], True
        while (item := next_line()) is not None:
            last = item[0]
            quotes += item[2].count('"')
            total += len(item[1])
            if size < _OVERSIZED_KEEP:
                kept.append(item[2])
                size += len(item[2])
            if quotes % 2 == 0:
                at_end = False
                break
        flag = f"oversized:{last}:{int(at_end)}"
        if too_large:
            flag = f"{TOO_LARGE}{last}:{total}:{limit}"
        yield start, ["".join(kept)[:_OVERSIZED_KEEP]], flag, None

    try:
        while True:
            item = next_line()
            if item is None:
                if not block:
                    break
                # the end of the file inside a quoted field: a stray quote, or a field never closed
                yield from close_open_field()
                block = []
                continue
            ln, raw, text, flag = item
            if block:
                block.append(item)
                quotes += text.count('"')
                oversized = parse_oversized_marker(raw)
                block_bytes += len(raw) if oversized is None else oversized
                if block_bytes > limit:
                    yield from close_open_field(too_large=True)
                    block, block_bytes = [], 0
                elif quotes % 2 == 0:
                    yield from _parse_block(
                        block[0][0], [b[2] for b in block], [b[3] for b in block], n_fields
                    )
                    block, block_bytes = [], 0
                elif len(block) >= MAX_RECORD_LINES:
                    yield from close_open_field()
                    block, block_bytes = [], 0
                continue
            if raw == b"\n" or raw == b"\r\n":
                blank.append(ln)
                continue
            if '"' in text:
                quotes = text.count('"')
                if quotes % 2:
                    block, block_bytes = [item], len(raw)
                    continue
                body = text.rstrip("\r\n")
                if flag is None and _RFC4180_LINE.match(body):
                    # well-formed quoting: PostgreSQL reads it as csv does, pass it on too
                    yield ln, next(csv.reader([body])), None, raw
                else:
                    yield from _parse_block(ln, [text], [flag], n_fields)
                continue
            body = text.rstrip("\r\n")
            if "\r" in body:
                yield ln, [body], "csv: carriage return inside an unquoted field", None
                continue
            yield ln, body.split(","), flag, raw
    except READ_ERRORS as exc:
        raise Unreadable(f"the file is cut short or corrupt after line {lineno}: {exc}") from exc
    finally:
        close = getattr(fh, "close", None)
        if close is not None:
            close()


def _stray_quote(following: list[str], n_fields: int) -> bool:
    """True when most of ``following`` lines read as records of the right width on their own."""
    if not following:
        return False
    good = 0
    for text in following:
        if text.count('"') % 2:
            continue
        try:
            records = list(csv.reader([text]))
        except csv.Error:
            continue
        good += len(records) == 1 and len(records[0]) == n_fields
    return good * 2 > len(following)


def _parse_block(
    start: int, texts: list[str], flags: list[str | None], n_fields: int
) -> Iterator[Record]:
    """Parse one or more physical lines that should form one CSV record."""
    flag = next((f for f in flags if f), None)
    try:
        records = list(csv.reader(texts))
        problem = None
    except csv.Error as exc:
        records, problem = [], f"csv: {exc}"
    if len(records) == 1 and (len(records[0]) == n_fields or len(texts) == 1):
        yield start, records[0], flag, None
    elif len(texts) == 1:
        yield (
            start,
            ["".join(texts)],
            problem or f"csv: the line holds {len(records)} records",
            None,
        )
    else:
        for offset, (text, line_flag) in enumerate(zip(texts, flags, strict=True)):
            yield from _parse_block(start + offset, [text], [line_flag], n_fields)


# ------------------------------------------------------------------------------------ XPT


def _xpt_check_complete(path: Path, widths: list[int]) -> None:
    """Raise ``Unreadable`` when an XPT v5 file is cut short.

    Steps: the file must start with the library header and hold the OBS header; the bytes
    after the OBS header are whole records plus at most 79 bytes of blank padding, in a file
    whose size is a multiple of 80.
    """
    size = path.stat().st_size
    if size == 0:
        raise Unreadable("empty file")
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        if not mm[: len(XPT_LIB_HEADER)] == XPT_LIB_HEADER:
            raise Unreadable("not a SAS XPORT v5 file (no library header)")
        obs = mm.find(XPT_OBS_HEADER)
        if obs < 0:
            raise Unreadable("truncated XPT: no observation header")
        data_start = obs + XPT_RECORD
        row_len = sum(widths)
        data_len = size - data_start
        if size % XPT_RECORD or row_len <= 0:
            raise Unreadable(f"truncated XPT: size {size} is not a multiple of 80 bytes")
        tail = data_len % row_len
        if tail >= XPT_RECORD or mm[size - tail : size].strip(b" ") != b"":
            raise Unreadable(
                f"truncated XPT: the data ends inside record {data_len // row_len + 1} "
                f"(record length {row_len}, {tail} bytes left over)"
            )


def _xpt_text(value) -> str:
    """Render one XPT value as text: numbers without a spurious ``.0``; missing as ``""``."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    return str(value)


def open_xpt(path: Path) -> Source:
    """Open a SAS XPORT v5 file with pyreadstat.

    Steps: read the metadata (else ``Unreadable``); check the file is complete; stream the
    data in chunks, each value rendered as text (``_xpt_text``), record number as the line.
    """
    import pyreadstat  # here, not at module level: a CSV-only run never pays its import

    try:
        _, meta = pyreadstat.read_xport(str(path), metadataonly=True)
    except Exception as exc:  # noqa: BLE001 - pyreadstat raises its own error types
        if path.stat().st_size == 0:
            raise Unreadable("empty file") from exc
        raise Unreadable(f"cannot read the XPT file: {exc}") from exc
    header = list(meta.column_names)
    widths = [int(meta.variable_storage_width.get(c, 8)) for c in header]
    _xpt_check_complete(path, widths)
    return Source(header, _xpt_records(path), [], [])


def _xpt_records(path: Path) -> Iterator[Record]:
    import pyreadstat

    number = 0
    try:
        chunks = pyreadstat.read_file_in_chunks(
            pyreadstat.read_xport,
            str(path),
            chunksize=XPT_CHUNK_ROWS,
            disable_datetime_conversion=True,
        )
        for frame, _ in chunks:
            columns = [frame[c].tolist() for c in frame.columns]
            for row in zip(*columns, strict=True):
                number += 1
                fields = [_xpt_text(v) for v in row]
                flag = NUL if any("\x00" in f for f in fields) else None
                yield number, fields, flag, None
    except Unreadable:
        raise
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(f"cannot read the XPT file after record {number}: {exc}") from exc


def open_source(snapshot: Snapshot, ext: str) -> Source:
    """Open the private copy of a landing file by its extension (``.csv``, ``.csv.gz`` or ``.xpt``)."""
    if ext == ".xpt":
        return open_xpt(snapshot.path())
    return open_csv(snapshot.stream(), gz=ext == ".csv.gz")
