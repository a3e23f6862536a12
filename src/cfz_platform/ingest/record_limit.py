"""A bound on the size of one record, so that memory stays bounded whatever a file holds.

A 1.5 MB gzip can hold one 1.5 GB line: reading it as a line (``readline``, ``for line in
fh``) took ~7 GB of memory. Every CSV body (and its header) is read through
``BoundedLineReader``, which never holds more than the limit plus one block:

Steps of ``BoundedLineReader.readline``:
1. look for the line break in the buffered bytes, reading blocks of ``BLOCK_BYTES`` while
   there is none and the buffer holds at most ``limit`` bytes;
2. a line of at most ``limit`` bytes (its line break included) is returned as it is;
3. a longer line is skipped unread to its line break (or the end of the file), block by
   block, counting its bytes; in its place comes one *marker line* (``OVERSIZED_PREFIX``,
   the size, LF): the marker holds a NUL, so the chunked fast path sends it to the careful
   reader, which turns it into a reject of that physical line (``parse_oversized_marker``);
   line numbers stay right (one physical line for one physical line).
``read(n)`` returns whole lines only (at most ``max(n, limit)`` bytes, ending with a line
break unless the file ends first), so that a caller reading in chunks never holds part of
an oversized line. A quoted field over many lines is bounded by the careful reader, which
counts the bytes of an open field (``readers._csv_records``).

The limit: ``CFZ_INGEST_MAX_RECORD_BYTES`` (bytes, default 1 MiB = 1,048,576).
"""

from __future__ import annotations

import os

DEFAULT_MAX_RECORD_BYTES = 1 << 20
MAX_RECORD_BYTES_ENV = "CFZ_INGEST_MAX_RECORD_BYTES"
BLOCK_BYTES = 1 << 18
OVERSIZED_PREFIX = b"\x00cfz-oversized-line:"


def max_record_bytes() -> int:
    """The record size limit in bytes (``CFZ_INGEST_MAX_RECORD_BYTES``, default 1 MiB)."""
    raw = os.environ.get(MAX_RECORD_BYTES_ENV, "").strip()
    return max(1024, int(raw)) if raw else DEFAULT_MAX_RECORD_BYTES


def parse_oversized_marker(raw: bytes) -> int | None:
    """The size in bytes of the line a marker line stands for; None for any other line."""
    if not raw.startswith(OVERSIZED_PREFIX):
        return None
    try:
        return int(raw[len(OVERSIZED_PREFIX) :].strip())
    except ValueError:
        return None


class BoundedLineReader:
    """A binary line reader over ``fh`` that never holds a line longer than ``limit`` bytes."""

    def __init__(self, fh, limit: int | None = None) -> None:
        self._fh = fh
        self.limit = limit or max_record_bytes()
        self._buf = bytearray()
        self._eof = False

    def _fill(self) -> bool:
        """Read one more block into the buffer; False at the end of the file."""
        if self._eof:
            return False
        block = self._fh.read(BLOCK_BYTES)
        if not block:
            self._eof = True
            return False
        self._buf += block
        return True

    def _skip_line(self) -> bytes:
        """Drop the rest of the current (oversized) line; return its marker line."""
        size = 0
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                size += nl + 1
                del self._buf[: nl + 1]
                break
            size += len(self._buf)
            self._buf.clear()
            if not self._fill():
                break
        return OVERSIZED_PREFIX + b"%d\n" % size

    def readline(self, size: int = -1) -> bytes:
        """The next physical line (see the module docstring); ``b""`` at the end of the file."""
        start = 0
        while True:
            nl = self._buf.find(b"\n", start)
            if nl >= 0:
                if nl + 1 > self.limit:
                    return self._skip_line()
                line = bytes(self._buf[: nl + 1])
                del self._buf[: nl + 1]
                return line
            if len(self._buf) > self.limit:
                return self._skip_line()
            start = len(self._buf)
            if not self._fill():
                line = bytes(self._buf)
                self._buf.clear()
                return line

    def read(self, n: int = -1) -> bytes:
        """Whole lines, about ``n`` bytes of them (see the module docstring)."""
        want = self.limit if n is None or n < 0 else min(n, self.limit)
        while len(self._buf) < want and self._fill():
            pass
        end = self._buf.rfind(b"\n", 0, want)
        if end < 0:
            return self.readline()
        out = bytes(self._buf[: end + 1])
        del self._buf[: end + 1]
        return out

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        self._buf.clear()
        self._fh.close()
