"""Discovery: which files of a landing root are to be considered, in delivery order.

Steps: list the sub-folders whose name is a delivery id (``YYYYMMDDTHHMMSS``) in sorted
order; within each, list the regular files (hidden files, e.g. a vendor's temporary
``.lb.csv.part``, are left for a later run) sorted by name; map each file name to an SDTM
domain, or note why it cannot be one (the file is then quarantined, not ignored). Other
folders and loose files in the root are reported so that nobody wonders where they went.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cfz_platform.ingest.contract import DELIVERY_ID, domain_for_file_name

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LandingFile:
    """One file of one delivery."""

    delivery_id: str
    path: Path
    rel_path: str  # relative to the landing root, "/"-separated: "20260301T020000/lb.csv"
    domain: str | None
    ext: str | None
    problem: str | None  # why the file can only be quarantined (file name), else None

    @property
    def file_name(self) -> str:
        return self.path.name


def discover(landing: Path) -> tuple[list[LandingFile], list[str]]:
    """Return the landing files in delivery order, and notes about entries that were passed over."""
    files: list[LandingFile] = []
    notes: list[str] = []
    for entry in sorted(landing.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            notes.append(f"{entry.name}: not inside a delivery folder, not loaded")
            continue
        if not DELIVERY_ID.match(entry.name):
            notes.append(f"{entry.name}/: not a delivery folder name (YYYYMMDDTHHMMSS), not loaded")
            continue
        for path in sorted(entry.iterdir(), key=lambda p: p.name):
            if path.name.startswith(".") or not path.is_file():
                if path.is_dir():
                    notes.append(f"{entry.name}/{path.name}/: sub-folders of a delivery are not read")
                continue
            domain, ext, problem = domain_for_file_name(path.name)
            files.append(LandingFile(entry.name, path, f"{entry.name}/{path.name}", domain, ext, problem))
    return files, notes
