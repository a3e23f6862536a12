"""Structural validation: is the header usable, and is each record structurally sound?

Only structure is checked here (feeds.md "Bad input"): meaning (dates, numbers, units, codes,
subjects) is left to staging. Steps:
1. ``check_header``: not too many columns, every name matches the strict column pattern,
   system column names get a safe stored name, no duplicates, the contract's required
   columns are present; otherwise the file is quarantined;
2. ``RowChecker.check``: a record is rejected for a quoted field over too many lines (one
   reject for the whole record), a parser error, the wrong number of fields, bytes that are
   not UTF-8, a NUL byte, or an empty (or only blank) natural-key column; otherwise it loads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cfz_platform.ingest.contract import (
    COLUMN_NAME,
    DOMAINS,
    MAX_FILE_COLUMNS,
    SYSTEM_COLUMN_PREFIX,
    SYSTEM_COLUMNS,
)
from cfz_platform.ingest.readers import MAX_RECORD_LINES, NUL, UNDECODABLE

#: Reject kinds (``audit.ingest_rejects.kind``).
WRONG_FIELD_COUNT = "wrong_field_count"
UNDECODABLE_BYTES = "undecodable_bytes"
NUL_BYTE = "nul_byte"
EMPTY_NATURAL_KEY = "empty_natural_key"
MALFORMED_CSV = "malformed_csv"
OVERSIZED_RECORD = "oversized_record"

MAX_REJECT_VALUE = 100_000
_SURROGATE = re.compile("[\udc80-\udcff]")


class HeaderProblem(Exception):
    """The header makes the file unloadable; the message is the quarantine reason."""


@dataclass(frozen=True)
class Reject:
    line: int
    column_name: str | None
    value: str
    kind: str
    reason: str


def check_header(domain: str, header: list[str]) -> list[str]:
    """Validate a header and return the column names as stored in ``raw.<domain>``.

    Steps: at most ``MAX_FILE_COLUMNS`` columns; each name must match ``COLUMN_NAME`` (so it
    is safe and portable as an identifier); names are lower-cased, and a PostgreSQL system
    column name (``ctid``, ``xmin``...) is stored as ``col_<name>`` (an extra column is kept,
    feeds.md); the stored names must be unique; every required column of a contract domain
    must be present (or one of its SDTM alternatives).
    """
    if len(header) > MAX_FILE_COLUMNS:
        raise HeaderProblem(
            f"too many columns: the header has {len(header):,}, at most {MAX_FILE_COLUMNS:,} are accepted "
            "(an SDTM domain has fewer than 100; PostgreSQL allows 1,600 per table)"
        )
    bad = [h for h in header if not COLUMN_NAME.fullmatch(h)]
    if bad:
        shown = ", ".join(repr(printable(h)[:40]) for h in bad[:5])
        raise HeaderProblem(
            f"bad column name(s) in the header: {shown} (letters, digits, _; start with a letter)"
        )
    cols = [compute_stored_name(h) for h in header]
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise HeaderProblem(f"duplicate column(s) in the header: {', '.join(dupes)}")
    contract = DOMAINS.get(domain)
    if contract:
        present = set(cols)
        missing = [
            r
            for r in contract.required
            if r.lower() not in present
            and not any(a.lower() in present for a in contract.alternatives.get(r, ()))
        ]
        if missing:
            raise HeaderProblem(
                f"missing required column(s) for {domain.upper()}: {', '.join(missing)}"
            )
    return cols


def compute_stored_name(name: str) -> str:
    """The raw-table column for a header name: lower case; a system column name gets ``col_``."""
    low = name.lower()
    return SYSTEM_COLUMN_PREFIX + low if low in SYSTEM_COLUMNS else low


def renamed_columns_note(header: list[str], stored: list[str]) -> str | None:
    """Say which header columns were stored under another name (None when none was)."""
    renamed = [f"{h} as {c}" for h, c in zip(header, stored, strict=True) if h.lower() != c]
    if not renamed:
        return None
    return f"column(s) named like PostgreSQL system columns stored as: {', '.join(renamed)}"


def printable(value: str) -> str:
    """Make a value storable in PostgreSQL text: NUL as ``\\x00``, undecodable bytes as ``\\xNN``."""
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    if _SURROGATE.search(value):
        value = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if len(value) > MAX_REJECT_VALUE:
        value = value[:MAX_REJECT_VALUE] + f"... [truncated, {len(value)} characters in all]"
    return value


class RowChecker:
    """Decide, record by record, whether a row loads or is rejected (and why)."""

    def __init__(self, domain: str, columns: list[str]) -> None:
        self.columns = columns
        self.n = len(columns)
        contract = DOMAINS.get(domain)
        keys = contract.key_checked if contract else ()
        self.key_positions = [
            (columns.index(k.lower()), k.lower()) for k in keys if k.lower() in columns
        ]

    def check(self, line: int, fields: list[str], flag: str | None) -> Reject | None:
        """Return a ``Reject`` for a structurally broken record, else None.

        Steps, first problem wins: a record over the size limit (``record_limit``); a
        quoted field over too many lines; parser error; wrong field count; undecodable bytes (named
        column); NUL byte (named column; PostgreSQL text cannot hold NUL, so the row is
        rejected rather than silently altered); empty natural-key column.
        """
        if flag is not None and flag.startswith("toolarge:"):
            _, last, size, limit = flag.split(":")
            where = f"line {line:,}" if int(last) == line else f"lines {line:,}-{int(last):,}"
            return Reject(
                line,
                None,
                printable(fields[0])[:200],
                OVERSIZED_RECORD,
                f"a record of {int(size):,} bytes on {where} is larger than the limit of "
                f"{int(limit):,} bytes (CFZ_INGEST_MAX_RECORD_BYTES): rejected as one record, "
                "not read into memory",
            )
        if flag is not None and flag.startswith("oversized:"):
            _, last, at_end = flag.split(":")
            span = int(last) - line + 1
            if span > MAX_RECORD_LINES:
                what = f"runs over more than {MAX_RECORD_LINES:,} lines, to "
                what += (
                    "the end of the file"
                    if at_end == "1"
                    else f"its closing quote on line {int(last):,}"
                )
            else:
                what = "is never closed (the file ends first)"
            return Reject(
                line,
                None,
                printable(fields[0]),
                OVERSIZED_RECORD,
                f"a quoted field opened on line {line:,} {what}: lines {line:,}-{int(last):,} rejected as one "
                "record (a missing closing quote?)",
            )
        if flag is not None and flag.startswith("csv:"):
            return Reject(
                line,
                None,
                printable(fields[0]),
                MALFORMED_CSV,
                f"the CSV parser failed: {flag[4:].strip()}",
            )
        if len(fields) != self.n:
            return Reject(
                line,
                None,
                printable(",".join(fields)),
                WRONG_FIELD_COUNT,
                f"wrong number of fields: expected {self.n}, found {len(fields)}",
            )
        if flag == UNDECODABLE:
            col, val = self._first(fields, lambda v: bool(_SURROGATE.search(v)))
            return Reject(
                line,
                col,
                printable(val),
                UNDECODABLE_BYTES,
                f"bytes that are not UTF-8 in column {col}",
            )
        if flag == NUL:
            col, val = self._first(fields, lambda v: "\x00" in v)
            return Reject(
                line,
                col,
                printable(val),
                NUL_BYTE,
                f"NUL byte in column {col} (not storable as text)",
            )
        for pos, name in self.key_positions:
            if not fields[pos].strip():
                what = "empty" if not fields[pos] else "blank (only spaces)"
                return Reject(
                    line,
                    name,
                    fields[pos],
                    EMPTY_NATURAL_KEY,
                    f"{what} natural-key column {name.upper()}",
                )
        return None

    def _first(self, fields: list[str], test) -> tuple[str | None, str]:
        for name, value in zip(self.columns, fields, strict=True):
            if test(value):
                return name, value
        return None, ",".join(fields)
