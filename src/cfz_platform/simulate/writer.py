"""Streaming CSV writer for the landing folder: ``<out>/<delivery_id>/<domain>.csv``.

Files are opened on first use (a delivery may hold only some domains), written with a
header, UTF-8, comma, RFC 4180 quoting and CRLF line ends; no value holds a line break, so
the physical line of a row is its record number + 1 (header = line 1). Bytes that are not
UTF-8 (structural errors) are carried as surrogate escapes and written raw.
"""

from __future__ import annotations

import csv
from pathlib import Path

from cfz_platform.simulate.records import COLUMNS


class DeliveryWriter:
    """Keeps one open CSV writer per (delivery, domain) and the line numbers."""

    def __init__(self, out: Path, delivery_ids: list[str]):
        self.out = out
        self.ids = delivery_ids
        self._open: dict[tuple[int, str], tuple] = {}
        self.lines: dict[tuple[int, str], int] = {}
        self.rows_written = 0
        for did in delivery_ids:
            (out / did).mkdir(parents=True, exist_ok=True)

    def write(self, k: int, domain: str, row: list[str]) -> tuple[str, int]:
        """Write one row; return (file relative to the landing root, physical line)."""
        key = (k, domain)
        entry = self._open.get(key)
        if entry is None:
            fh = open(  # noqa: SIM115 - kept open across rows, closed by close()
                self.out / self.ids[k] / f"{domain}.csv",
                "w",
                encoding="utf-8",
                errors="surrogateescape",
                newline="",
            )
            w = csv.writer(fh)
            w.writerow(COLUMNS[domain])
            entry = (fh, w)
            self._open[key] = entry
            self.lines[key] = 1
        entry[1].writerow(row)
        self.lines[key] += 1
        self.rows_written += 1
        return f"{self.ids[k]}/{domain}.csv", self.lines[key]

    def close(self) -> None:
        for fh, _w in self._open.values():
            fh.close()
        self._open.clear()
