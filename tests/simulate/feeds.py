"""Helpers for the simulator tests: read the landing folder back as a feed consumer would."""

from __future__ import annotations

import csv
from pathlib import Path

from cfz_platform.simulate import params as P
from cfz_platform.simulate.records import COLUMNS


def read_domain(landing: Path, domain: str) -> list[dict]:
    """All rows of a domain over all deliveries in delivery order, with _delivery/_line.

    Rows with the wrong field count, undecodable bytes or an empty USUBJID are skipped
    (ingestion rejects them).
    """
    rows = []
    for d in sorted(p for p in landing.iterdir() if p.is_dir()):
        f = d / f"{domain}.csv"
        if not f.exists():
            continue
        raw = f.read_bytes().decode("utf-8", errors="surrogateescape")
        reader = csv.reader(raw.splitlines())
        header = next(reader)
        assert tuple(header) == COLUMNS[domain]
        for line, rec in enumerate(reader, start=2):
            if len(rec) != len(header) or any("\udce9" in v for v in rec) or not rec[2]:
                continue
            row = dict(zip(header, rec, strict=True))
            row["_delivery"], row["_line"] = d.name, line
            rows.append(row)
    return rows


def latest(rows: list[dict], key: tuple[str, ...]) -> dict[tuple, dict]:
    """Latest delivery wins per natural key."""
    out: dict[tuple, dict] = {}
    for r in rows:
        out[tuple(r[k] for k in key)] = r
    return out


ALIAS = {
    "SPEP": "MPROTEIN",
    "UPEP": "MPROTEIN",
    "M-PROTEIN": "MPROTEIN",
    "B2M": "B2MICG",
    "PLT": "PLAT",
    "ANC": "NEUT",
}


def to_standard(row: dict) -> tuple[str, float | None]:
    """(test key, value in the standard unit) or (key, None) when it cannot be converted."""
    code = ALIAS.get(row["LBTESTCD"], row["LBTESTCD"])
    key = f"{code}/{row['LBSPEC']}" if code in ("MPROTEIN", "IMFIX") else code
    if key not in P.LAB_TESTS:
        return key, None
    try:
        v = float(row["LBORRES"])
    except ValueError:
        return key, None
    unit = row["LBORRESU"]
    if unit == P.LAB_TESTS[key].unit:
        return key, v
    for u, f in P.ALT_UNITS.get(key, ()):
        if u == unit:
            return key, v / f
    return key, None
