"""Read a landing file once: the bytes that are hashed are the bytes that are loaded (feeds.md).

Steps of ``read_snapshot``:
1. open the delivery folder and then the file without following symbolic links
   (``O_NOFOLLOW``) and without blocking (``O_NONBLOCK``: a FIFO swapped in after discovery
   does not hang the run); ``fstat`` the open file: anything but a regular file is refused
   unread (``NotRegular``);
2. read it to the end in blocks, hashing each block (sha256) and keeping it in a private
   buffer: memory up to ``CFZ_INGEST_SPOOL_BYTES`` (default 256 MB), a private temporary
   file beyond;
3. ``fstat`` again: when the size, modification or change time moved, or fewer or more bytes
   came than the size said, the file changed while it was read (``Changed``: the caller
   quarantines it for this run, and the next run reads it again);
4. the ``Snapshot`` gives the readers a stream over the private copy (or a path to it, for
   the XPT reader), never the landing file again.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cfz_platform.ingest import hooks

READ_BLOCK = 1 << 20
SPOOL_BYTES = 256 << 20


class NotRegular(Exception):
    """The entry is not a regular file (it was replaced after discovery); nothing was read."""


class Changed(Exception):
    """The file changed while it was read; ``sha256``/``size`` are of the bytes that were read."""

    def __init__(self, message: str, sha256: str, size: int) -> None:
        super().__init__(message)
        self.sha256 = sha256
        self.size = size


@dataclass
class Snapshot:
    """The private copy of one landing file, with the sha256 and size of exactly those bytes."""

    sha256: str
    size: int
    data: bytes | None  # the copy, when it is kept in memory
    spill: io.BufferedRandom | None = None  # else a private unnamed temporary file
    _path_copy: Path | None = field(default=None)

    def stream(self) -> io.BufferedIOBase:
        """A fresh binary stream over the copy, from its first byte."""
        if self.data is not None:
            return io.BytesIO(self.data)
        return io.BufferedReader(_Reopen(self.spill.fileno()), READ_BLOCK)

    def path(self) -> Path:
        """A private file holding the copy, for readers that need a path (pyreadstat).

        On Linux an unnamed temporary file reached through ``/proc/self/fd`` (nothing is left
        behind even when the process is killed); elsewhere a named temporary file.
        """
        if self._path_copy is None:
            if self.data is None and Path("/proc/self/fd").is_dir():
                self._path_copy = Path(f"/proc/self/fd/{self.spill.fileno()}")
                return self._path_copy
            if Path("/proc/self/fd").is_dir():
                self.spill = tempfile.TemporaryFile(prefix="cfz-ingest-")  # noqa: SIM115 - closed by close()
                self.spill.write(self.data)
                self.spill.flush()
                self._path_copy = Path(f"/proc/self/fd/{self.spill.fileno()}")
                return self._path_copy
            fd, name = tempfile.mkstemp(prefix="cfz-ingest-", suffix=".bin")
            with os.fdopen(fd, "wb") as out, self.stream() as src:
                while block := src.read(READ_BLOCK):
                    out.write(block)
            self._path_copy = Path(name)
        return self._path_copy

    def close(self) -> None:
        self.data = None
        if self.spill is not None:
            self.spill.close()
            self.spill = None
        if self._path_copy is not None:
            if not str(self._path_copy).startswith("/proc/"):
                self._path_copy.unlink(missing_ok=True)
            self._path_copy = None

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Reopen(io.RawIOBase):
    """A read-only stream over an open file descriptor, by position (its own offset; closing
    the stream leaves the descriptor, which belongs to the snapshot, open)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        data = os.pread(self._fd, len(buf), self._pos)
        buf[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _same(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_size, a.st_mtime_ns, a.st_ctime_ns, a.st_ino) == (
        b.st_size,
        b.st_mtime_ns,
        b.st_ctime_ns,
        b.st_ino,
    )


def read_snapshot(path: Path, rel_path: str) -> Snapshot:
    """Read ``path`` once into a private copy; see the module docstring."""
    spool_bytes = int(os.environ.get("CFZ_INGEST_SPOOL_BYTES", SPOOL_BYTES))
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fd = os.open(
            path.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd
        )
    finally:
        os.close(dir_fd)
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise NotRegular("not a regular file any more: not read")
        digest = hashlib.sha256()
        blocks: list[bytes] = []
        spill = None
        size = 0
        try:
            while block := os.read(fd, READ_BLOCK):
                digest.update(block)
                size += len(block)
                if spill is None and size > spool_bytes:
                    spill = tempfile.TemporaryFile(prefix="cfz-ingest-")  # noqa: SIM115 - owned by the Snapshot
                    spill.writelines(blocks)
                    blocks = []
                if spill is not None:
                    spill.write(block)
                else:
                    blocks.append(block)
                hooks.crash_point("mid_read", rel_path)
            after = os.fstat(fd)
        except BaseException:
            if spill is not None:
                spill.close()
            raise
    finally:
        os.close(fd)
    hooks.crash_point("after_read", rel_path)
    if not _same(before, after) or size != before.st_size:
        if spill is not None:
            spill.close()
        raise Changed(
            f"the file changed while it was read ({before.st_size:,} bytes when opened, {size:,} read, "
            f"{after.st_size:,} at the end): not loaded; the next run reads it again",
            digest.hexdigest(),
            size,
        )
    if spill is not None:
        spill.flush()
        return Snapshot(digest.hexdigest(), size, None, spill)
    return Snapshot(digest.hexdigest(), size, b"".join(blocks))
