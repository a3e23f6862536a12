"""Readers: turn one landing file into a header and a stream of raw records.

A reader never decides what is loaded; it reports what it saw. Each record is a tuple
``(line, fields, flag)``:
- ``line``: the physical line where the record starts (CSV; header = 1) or the record number
  (XPT, first record = 1);
- ``fields``: the values as text (``""`` for empty/missing);
- ``flag``: ``None`` for a clean record, else one of ``UNDECODABLE``, ``NUL``, or a CSV parser
  message starting with ``"csv:"``.

Problems that make the whole file unreadable raise ``Unreadable`` (the file is quarantined).
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import mmap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyreadstat

UNDECODABLE = "undecodable"
NUL = "nul"
XPT_RECORD = 80
XPT_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
XPT_LIB_HEADER = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
XPT_CHUNK_ROWS = 20_000

csv.field_size_limit(2**31 - 1)

Record = tuple[int, list[str], str | None]


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


# ------------------------------------------------------------------------------------ CSV


def _open_binary(path: Path) -> io.BufferedIOBase:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115 - closed by the record generator


def _decode_header(raw: bytes) -> str:
    """Decode the header line, or explain why the file's encoding is wrong.

    Steps: reject UTF-16/32 byte-order marks and NUL bytes (a wide encoding); drop a UTF-8
    BOM; decode strictly as UTF-8.
    """
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or raw[:4] in (b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00"):
        raise Unreadable("bad encoding: the file is UTF-16/UTF-32 (byte-order mark); feeds must be UTF-8")
    if b"\x00" in raw:
        raise Unreadable("bad encoding: NUL bytes in the header line (UTF-16?); feeds must be UTF-8")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unreadable(f"bad encoding: the header line is not UTF-8 ({exc.reason} at byte {exc.start})") from exc


def open_csv(path: Path) -> Source:
    """Open a CSV or CSV.GZ file (UTF-8, comma, RFC 4180 quoting).

    Steps:
    1. read the first physical line and decode it strictly (else ``Unreadable``); an empty
       file or a blank header is ``Unreadable``;
    2. stream the remaining physical lines (split on LF only), decoding each as UTF-8; a line
       that fails is decoded with ``surrogateescape`` so the CSV structure survives, and the
       record it belongs to is flagged ``UNDECODABLE``; lines with NUL are flagged ``NUL``;
    3. feed the lines to ``csv.reader`` and yield each record with the physical line it
       started on; a record the parser rejects is flagged ``csv: <message>``;
    4. a record spanning several physical lines whose field count is wrong (a stray opening
       quote) is parsed again line by line, so one bad quote cannot swallow the rest.
    """
    try:
        fh = _open_binary(path)
        first = fh.readline()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise Unreadable(f"cannot read the file: {exc}") from exc
    if not first.strip():
        fh.close()
        raise Unreadable("empty file (no header line)")
    header_text = _decode_header(first)
    try:
        header = next(csv.reader([header_text]))
    except (csv.Error, StopIteration) as exc:
        fh.close()
        raise Unreadable(f"the header line cannot be parsed as CSV: {exc}") from exc
    header = [h.strip() for h in header]
    blank: list[int] = []
    undecodable: list[int] = []
    return Source(header, _csv_records(fh, len(header), blank, undecodable), blank, undecodable)


def _csv_records(fh, n_fields: int, blank: list[int], undecodable: list[int]) -> Iterator[Record]:
    pending: list[str] = []  # decoded physical lines of the record being parsed
    flags: list[str] = []
    state = {"line": 1}

    def lines() -> Iterator[str]:
        try:
            for raw in fh:
                state["line"] += 1
                if (raw == b"\n" or raw == b"\r\n") and not pending:
                    blank.append(state["line"])
                    continue
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = raw.decode("utf-8", "surrogateescape")
                    flags.append(UNDECODABLE)
                    undecodable.append(state["line"])
                if "\x00" in text:
                    flags.append(NUL)
                pending.append(text)
                yield text
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise Unreadable(f"the file is cut short or corrupt after line {state['line']}: {exc}") from exc

    reader = csv.reader(lines())
    try:
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                start = state["line"] - len(pending) + 1
                yield start, ["".join(pending)], f"csv: {exc}"
                pending.clear()
                flags.clear()
                continue
            start = state["line"] - len(pending) + 1
            if len(pending) > 1 and len(fields) != n_fields:
                yield from _reparse_lines(start, list(pending), n_fields)
            else:
                yield start, fields, (flags[0] if flags else None)
            pending.clear()
            flags.clear()
    finally:
        fh.close()


def _reparse_lines(start: int, texts: list[str], n_fields: int) -> Iterator[Record]:
    """Parse each physical line of a bad multi-line record on its own."""
    for offset, text in enumerate(texts):
        flag = None
        if "\x00" in text:
            flag = NUL
        if any("\udc80" <= ch <= "\udcff" for ch in text):
            flag = UNDECODABLE
        try:
            fields = next(csv.reader([text.rstrip("\r\n")]), [])
        except csv.Error as exc:
            yield start + offset, [text], f"csv: {exc}"
            continue
        yield start + offset, fields, flag


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
        if tail >= XPT_RECORD or mm[size - tail:size].strip(b" ") != b"":
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
    number = 0
    try:
        chunks = pyreadstat.read_file_in_chunks(
            pyreadstat.read_xport, str(path), chunksize=XPT_CHUNK_ROWS, disable_datetime_conversion=True
        )
        for frame, _ in chunks:
            columns = [frame[c].tolist() for c in frame.columns]
            for row in zip(*columns, strict=True):
                number += 1
                fields = [_xpt_text(v) for v in row]
                flag = NUL if any("\x00" in f for f in fields) else None
                yield number, fields, flag
    except Unreadable:
        raise
    except Exception as exc:  # noqa: BLE001
        raise Unreadable(f"cannot read the XPT file after record {number}: {exc}") from exc


def open_source(path: Path, ext: str) -> Source:
    """Open a landing file by its extension (``.csv``, ``.csv.gz`` or ``.xpt``)."""
    if ext == ".xpt":
        return open_xpt(path)
    return open_csv(path)
