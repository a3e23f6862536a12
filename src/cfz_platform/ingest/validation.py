"""Structural validation: is the header usable, and is each record structurally sound?

Only structure is checked here (feeds.md "Bad input"): meaning (dates, numbers, units, codes,
subjects) is left to staging. Steps:
1. ``check_header``: every name matches the strict column pattern, no duplicates, the
   contract's required columns are present; otherwise the file is quarantined;
2. ``RowChecker.check``: a record is rejected for a parser error, the wrong number of fields,
   bytes that are not UTF-8, a NUL byte, or an empty natural-key column; otherwise it loads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cfz_platform.ingest.contract import COLUMN_NAME, DOMAINS
from cfz_platform.ingest.readers import NUL, UNDECODABLE

#: Reject kinds (``audit.ingest_rejects.kind``).
WRONG_FIELD_COUNT = "wrong_field_count"
UNDECODABLE_BYTES = "undecodable_bytes"
NUL_BYTE = "nul_byte"
EMPTY_NATURAL_KEY = "empty_natural_key"
MALFORMED_CSV = "malformed_csv"

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
    """Validate a header and return the lower-cased column names.

    Steps: each name must match ``COLUMN_NAME`` (so it is safe and portable as an identifier);
    lower-cased names must be unique; every required column of a contract domain must be
    present (or one of its SDTM alternatives).
    """
    bad = [h for h in header if not COLUMN_NAME.match(h)]
    if bad:
        shown = ", ".join(repr(printable(h)[:40]) for h in bad[:5])
        raise HeaderProblem(f"bad column name(s) in the header: {shown} (letters, digits, _; start with a letter)")
    cols = [h.lower() for h in header]
    dupes = sorted({c for c in cols if cols.count(c) > 1})
    if dupes:
        raise HeaderProblem(f"duplicate column(s) in the header: {', '.join(dupes)}")
    contract = DOMAINS.get(domain)
    if contract:
        present = set(cols)
        missing = [
            r for r in contract.required
            if r.lower() not in present
            and not any(a.lower() in present for a in contract.alternatives.get(r, ()))
        ]
        if missing:
            raise HeaderProblem(f"missing required column(s) for {domain.upper()}: {', '.join(missing)}")
    return cols


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
        self.key_positions = [(columns.index(k.lower()), k.lower()) for k in keys if k.lower() in columns]

    def check(self, line: int, fields: list[str], flag: str | None) -> Reject | None:
        """Return a ``Reject`` for a structurally broken record, else None.

        Steps, first problem wins: parser error; wrong field count; undecodable bytes (named
        column); NUL byte (named column; PostgreSQL text cannot hold NUL, so the row is
        rejected rather than silently altered); empty natural-key column.
        """
        if flag is not None and flag.startswith("csv:"):
            return Reject(line, None, printable(fields[0]), MALFORMED_CSV, f"the CSV parser failed: {flag[4:].strip()}")
        if len(fields) != self.n:
            return Reject(
                line, None, printable(",".join(fields)), WRONG_FIELD_COUNT,
                f"wrong number of fields: expected {self.n}, found {len(fields)}",
            )
        if flag == UNDECODABLE:
            col, val = self._first(fields, lambda v: bool(_SURROGATE.search(v)))
            return Reject(line, col, printable(val), UNDECODABLE_BYTES, f"bytes that are not UTF-8 in column {col}")
        if flag == NUL:
            col, val = self._first(fields, lambda v: "\x00" in v)
            return Reject(line, col, printable(val), NUL_BYTE, f"NUL byte in column {col} (not storable as text)")
        for pos, name in self.key_positions:
            if not fields[pos]:
                return Reject(line, name, fields[pos], EMPTY_NATURAL_KEY, f"empty natural-key column {name.upper()}")
        return None

    def _first(self, fields: list[str], test) -> tuple[str | None, str]:
        for name, value in zip(self.columns, fields, strict=True):
            if test(value):
                return name, value
        return None, ",".join(fields)
