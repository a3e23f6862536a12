"""Discovery: which entries of a landing root are to be considered, in delivery order.

Nothing here opens or reads a file: every decision is taken on ``lstat`` (a symbolic link is
never followed, a FIFO is never opened, so discovery cannot block or leak content).

Steps of ``discover``:
1. list the entries of the root; hidden ones are left alone; a sub-folder whose name is a
   delivery id (``YYYYMMDDTHHMMSS``) is a delivery, read in sorted order; other folders and
   loose files are reported as notes so that nobody wonders where they went;
2. a delivery "folder" that is a symbolic link is not followed: it becomes a landing entry
   to quarantine (feeds.md: only regular files inside the landing root are read);
3. within a delivery, list the entries sorted by name (hidden files, e.g. a vendor's
   temporary ``.lb.csv.part``, are left for a later run; sub-folders are noted); a regular
   file is mapped to an SDTM domain, or noted why its name cannot be one; every file of a
   delivery whose id is dated after now (beyond a day of clock skew) is to quarantine with
   that reason (``compute_future_delivery_problem``); a symbolic link,
   FIFO, device or socket is an entry to quarantine with the reason, its content unread.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cfz_platform.ingest.contract import DELIVERY_ID, domain_for_file_name
from cfz_platform.ingest.text import escape_text

log = logging.getLogger(__name__)

REGULAR = "regular"
#: Clock skew tolerated between the sender's delivery id and our clock (feeds.md).
DELIVERY_CLOCK_SKEW = timedelta(days=1)


@dataclass(frozen=True)
class LandingFile:
    """One entry of one delivery (a regular file, or something to quarantine unread)."""

    delivery_id: str
    path: Path
    rel_path: str  # relative to the landing root, "/"-separated: "20260301T020000/lb.csv"
    domain: str | None
    ext: str | None
    problem: str | None  # why the entry can only be quarantined, else None
    kind: str = REGULAR  # regular, symlink, fifo, device, socket, other

    @property
    def file_name(self) -> str:
        return self.path.name

    @property
    def readable(self) -> bool:
        """True for a regular file (its bytes may be read); everything else is never opened."""
        return self.kind == REGULAR


def compute_entry_kind(mode: int) -> str:
    """Name the kind of a directory entry from its ``lstat`` mode."""
    if stat.S_ISREG(mode):
        return REGULAR
    if stat.S_ISDIR(mode):
        return "directory"
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "other"


def compute_unread_fingerprint(lf: LandingFile) -> str:
    """A stable ledger sha256 for an entry whose content is never read.

    Steps: hash the entry's kind and, for a symbolic link, its target text (not the target's
    content), so that the same link met again is recognised and recorded once, and a link
    re-pointed elsewhere is a new ledger entry.
    """
    target = ""
    if lf.kind == "symlink":
        try:
            target = os.readlink(lf.path)
        except OSError:
            target = "?"
    return hashlib.sha256(
        f"unread {lf.kind}\0{target}".encode("utf-8", "surrogateescape")
    ).hexdigest()


def compute_future_delivery_problem(delivery_id: str, now: datetime) -> str | None:
    """Why a delivery dated after ``now`` (beyond ``DELIVERY_CLOCK_SKEW``) cannot be loaded.

    Steps: write ``now`` plus the skew as a delivery id (``YYYYMMDDTHHMMSS``, UTC); a
    delivery id that sorts after it is in the future. Ids are compared as text, the way they
    rank records (the newest delivery wins each record): one mistyped year would otherwise
    silently outrank every real correction after it.
    """
    if delivery_id <= (now + DELIVERY_CLOCK_SKEW).strftime("%Y%m%dT%H%M%S"):
        return None
    return (
        f"delivery id {delivery_id} is dated after the moment it was loaded "
        f"({now:%Y-%m-%d %H:%M} UTC, more than {DELIVERY_CLOCK_SKEW.days} day of clock skew): "
        "it would outrank every later correction; deliver it under the time it was sent"
    )


def _unread_problem(kind: str, path: Path, root: Path) -> str:
    """The quarantine reason for an entry that is not a regular file (its content is never read)."""
    if kind == "symlink":
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        resolved = Path(os.path.realpath(path))
        where = "inside" if resolved.is_relative_to(root) else "outside"
        exists = "" if resolved.exists() else ", which does not exist"
        shown = escape_text(target)[:200]
        return (
            f"symbolic link to {shown!r} ({where} the landing root{exists}): links are not followed; "
            "deliver the file itself"
        )
    what = {"fifo": "a FIFO (named pipe)", "device": "a device file", "socket": "a socket"}.get(
        kind, "not a regular file"
    )
    return f"{what}, not a regular file: not read; deliver a regular file"


def discover(landing: Path) -> tuple[list[LandingFile], list[str]]:
    """Return the landing entries in delivery order, and notes about entries passed over."""
    root = Path(landing)
    now = datetime.now(UTC)
    files: list[LandingFile] = []
    notes: list[str] = []
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name.startswith("."):
            continue
        is_delivery = DELIVERY_ID.fullmatch(entry.name) is not None
        if entry.is_symlink() and is_delivery:
            problem = _unread_problem("symlink", Path(entry.path), root)
            files.append(
                LandingFile(
                    entry.name,
                    Path(entry.path),
                    entry.name,
                    None,
                    None,
                    f"delivery folder is a {problem}",
                    "symlink",
                )
            )
            continue
        if not entry.is_dir(follow_symlinks=False):
            notes.append(f"{entry.name}: not inside a delivery folder, not loaded")
            continue
        if not is_delivery:
            notes.append(f"{entry.name}/: not a delivery folder name (YYYYMMDDTHHMMSS), not loaded")
            continue
        future = compute_future_delivery_problem(entry.name, now)
        for child in sorted(os.scandir(entry.path), key=lambda e: e.name):
            if child.name.startswith("."):
                continue
            path = Path(child.path)
            kind = compute_entry_kind(child.stat(follow_symlinks=False).st_mode)
            if kind == "directory":
                notes.append(f"{entry.name}/{child.name}/: sub-folders of a delivery are not read")
                continue
            domain, ext, problem = domain_for_file_name(child.name)
            if kind != REGULAR:
                problem = _unread_problem(kind, path, root)
            elif future is not None and domain is not None:
                problem = future
            files.append(
                LandingFile(
                    entry.name, path, f"{entry.name}/{child.name}", domain, ext, problem, kind
                )
            )
    return files, notes
