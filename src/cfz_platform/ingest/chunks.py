"""The chunked CSV fast path: check big blocks of lines at C speed, pass clean lines on as sent.

``RowSink`` turns records into COPY payload (``<record>,<line>,<md5>,<file_id>,<delivery>,<file>``
lines for ``COPY raw.<domain> (..., _line, _row_hash, _file_id, _delivery_id, _file)``) and keeps
the rejects and the counts. ``ChunkedCsv`` feeds it a CSV body chunk by chunk.

Steps of ``ChunkedCsv.payloads`` (one ``bytes`` payload per chunk):
1. read the body in ~1 MB chunks that end on a line break (the body is a
   ``record_limit.BoundedLineReader``: whole lines, none over the record limit); a chunk
   holding an odd number of quote characters is extended line by line (at most
   ``MAX_RECORD_LINES`` lines and the record limit in bytes) so that a quoted line break
   does not straddle two chunks;
2. a chunk where some line holds an odd number of quotes (a record over several lines, or a
   stray quote) goes wholly through the careful reader (``readers._csv_records``), which may
   read on past the chunk while a quoted field is open (a field over more lines than the
   extension, or a stray quote near the chunk's end);
3. otherwise CR LF endings are made LF (a chunk whose every line ends with CR LF and that
   holds no other CR is not copied: its lines end at their CR), and every line is checked
   at once with numpy over the positions of line breaks, commas and quotes: number of delimiters (commas outside quotes),
   empty natural-key field (empty, ``""``, or starting with a blank: the careful path
   rejects it when it holds only blanks), blank line, NUL, bare CR, UTF-8 (one decode of
   the chunk); quotes must open a field and close it (RFC 4180 without ``""`` escapes), so that
   PostgreSQL parses the line exactly as Python's csv does;
4. a line failing any check goes, alone, through the careful reader (which rejects it with the
   file/line/column/reason, or loads a re-serialized record); clean lines are sent as sent with
   their physical line number and row hash (md5 of the line, or of the values joined by commas
   when the line has quotes: the ``row_hash`` of the careful path).
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Iterable, Iterator

import numpy as np

from cfz_platform.ingest.readers import MAX_RECORD_LINES, Record, _csv_records
from cfz_platform.ingest.record_limit import max_record_bytes
from cfz_platform.ingest.validation import Reject, RowChecker

CHUNK_BYTES = 1 << 20
try:  # CPython's own MD5: for one short line it costs ~0.55 us against ~0.77 us for OpenSSL's
    from _md5 import md5 as _md5  # (whose every new object looks the digest up again)
except ImportError:  # pragma: no cover - a build without it
    _md5 = hashlib.md5
_COMMA, _LF, _QUOTE, _CR, _NUL = 44, 10, 34, 13, 0
#: First bytes (UTF-8) of the characters ``str.strip`` removes: a key field starting with one
#: may be only blank, and goes to the careful path, which rejects it when it is.
_BLANK_LEAD = np.zeros(256, bool)
_BLANK_LEAD[[9, 10, 11, 12, 13, 28, 29, 30, 31, 32, 0xC2, 0xE1, 0xE2, 0xE3]] = True


def _count(chunk: bytes, byte: int) -> int:
    """How many times ``byte`` occurs in ``chunk``."""
    return int(np.count_nonzero(np.frombuffer(chunk, np.uint8) == byte))


def _crlf_only(a: np.ndarray, nl: np.ndarray) -> bool:
    """Every line of the chunk ``a`` (line breaks at ``nl``) ends with CR LF, and no other CR."""
    cr = np.flatnonzero(a == _CR)
    return len(cr) == len(nl) and bool(np.all(cr == nl - 1))


def _undecodable_lines(a: np.ndarray, nl: np.ndarray, lines: list[bytes]) -> list[int]:
    """Indexes of the lines UTF-8 cannot decode, in a chunk that did not decode whole.

    Steps: the lines holding a byte over 0x7F (numpy, over the line-break positions ``nl``);
    each of those decoded alone (a line of ASCII bytes always decodes). Linear in the chunk
    however many lines are bad (a Latin-1 file has a bad byte on nearly every line).
    """
    holding = np.searchsorted(nl, np.flatnonzero(a > 0x7F))
    bad = []
    for i in holding[np.diff(holding, prepend=-1) != 0].tolist():
        try:
            lines[i].decode("utf-8")
        except UnicodeDecodeError:
            bad.append(i)
    return bad


def row_hash(values: list[str]) -> str:
    """``_row_hash``: md5 of the source values joined by commas, in file column order (UTF-8).

    For a CSV line without quotes this is the md5 of the line as sent, which is how the
    loader computes it on its fast paths.
    """
    return hashlib.md5(",".join(values).encode("utf-8")).hexdigest()


class _CsvLine:
    """Serialize values as one COPY CSV line (minimal quoting; empty values unquoted = NULL)."""

    def __init__(self) -> None:
        self._buf = io.StringIO()
        # csv quotes a field holding any character of the line terminator: use CR LF so
        # that values with CR or LF are quoted, and strip the terminator afterwards
        self._writer = csv.writer(self._buf, lineterminator="\r\n")

    def __call__(self, values: list) -> bytes:
        self._buf.seek(0)
        self._buf.truncate()
        self._writer.writerow(values)
        return self._buf.getvalue()[:-2].encode("utf-8")


class RowSink:
    """Collect COPY payload lines, rejects and counts for one file.

    Steps of ``careful`` (the record-by-record path, also used for XPT): count the record;
    a record with a flag, the wrong width or an empty key goes to ``RowChecker.check`` and is
    rejected when it says so; a record that is one CSV line is passed on as sent, any other is
    re-serialized; the lineage (line, row hash, file id, delivery, file) is appended.
    """

    def __init__(self, checker: RowChecker, lineage_tail: bytes) -> None:
        self.checker = checker
        self.n = checker.n
        self.tail = lineage_tail  # b",<file_id>,<delivery_id>,<file>\n"
        self.rejects: list[Reject] = []
        self.kinds: Counter = Counter()
        self.read = 0
        self.loaded = 0
        self._serialize = _CsvLine()
        self._key_pos = [pos for pos, _ in checker.key_positions]

    def careful(self, records: Iterable[Record]) -> list[bytes]:
        """COPY lines for records from a reader; rejects are kept aside."""
        out: list[bytes] = []
        md5, n, key_pos, tail = hashlib.md5, self.n, self._key_pos, self.tail
        for line, fields, flag, raw in records:
            self.read += 1
            if flag is not None or len(fields) != n or not all(fields[p].strip() for p in key_pos):
                reject = self.checker.check(line, fields, flag)
                if reject is not None:
                    self.rejects.append(reject)
                    self.kinds[reject.kind] += 1
                    continue
            if raw is not None:
                # PostgreSQL parses this line exactly as the reader did
                body = raw.rstrip(b"\r\n")
                digest = md5(body).hexdigest() if b'"' not in body else row_hash(fields)
                out.append(b"%s,%d,%s%s" % (body, line, digest.encode(), tail))
            else:
                out.append(
                    b"%s,%d,%s%s" % (self._serialize(fields), line, row_hash(fields).encode(), tail)
                )
            self.loaded += 1
        return out


class ChunkedCsv:
    """The fast path over one CSV body (see the module docstring)."""

    def __init__(
        self,
        body,
        sink: RowSink,
        blank: list[int],
        undecodable: list[int],
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        self.body = body
        self.sink = sink
        self.blank = blank
        self.undecodable = undecodable
        self.chunk_bytes = chunk_bytes
        self._fmt = (b"%s,%d,%s" + sink.tail).__mod__
        self._extra_lines = (
            0  # lines the careful reader took beyond its chunk (an open quoted field)
        )

    # ------------------------------------------------------------------ reading

    def _chunks(self) -> Iterator[tuple[int, bytes]]:
        """``(first physical line, chunk)``; each chunk ends with LF (one is added at the end)."""
        fh, line = self.body, 2
        try:
            while True:
                chunk = fh.read(self.chunk_bytes)
                if not chunk:
                    return
                if not chunk.endswith(b"\n"):
                    chunk += fh.readline()
                # bytes.count of one byte runs at ~2.5 GB/s here, numpy's compare-and-count at ~18
                quotes = _count(chunk, _QUOTE) if b'"' in chunk else 0
                extra = 0
                # an open quoted field: at most MAX_RECORD_LINES lines or the record limit more
                bound = len(chunk) + max_record_bytes()
                while quotes % 2 and extra < MAX_RECORD_LINES and len(chunk) <= bound:
                    more = fh.readline()
                    if not more:
                        break
                    chunk += more
                    quotes += more.count(b'"')
                    extra += 1
                if not chunk.endswith(b"\n"):
                    chunk += b"\n"
                yield line, chunk
                line += _count(chunk, _LF) + self._extra_lines
                self._extra_lines = 0
        finally:
            fh.close()

    def payloads(self) -> Iterator[bytes]:
        """COPY payload per chunk (possibly empty); raises the reader's errors (gzip, OS)."""
        for first, chunk in self._chunks():
            yield self._chunk_payload(first, chunk)

    # ------------------------------------------------------------------ one chunk

    def _more(self) -> bytes:
        """The next physical line after the current chunk (for a quoted field still open)."""
        raw = self.body.readline()
        if raw:
            self._extra_lines += 1
        return raw

    def _careful_lines(self, lines: list[bytes], first: int, more=None) -> list[bytes]:
        records = _csv_records(
            lines, self.sink.n, self.blank, self.undecodable, first_line=first, more=more
        )
        return self.sink.careful(records)

    def _chunk_payload(self, first: int, chunk: bytes) -> bytes:
        """COPY payload of one chunk starting at physical line ``first`` (see the module docstring)."""
        a = np.frombuffer(chunk, np.uint8)
        nl = np.flatnonzero(a == _LF)
        total = len(nl)  # the chunk ends with LF
        has_quotes = b'"' in chunk
        if has_quotes:
            qpos = np.flatnonzero(a == _QUOTE)
            if np.any(np.bincount(np.searchsorted(nl, qpos), minlength=total) % 2):
                # a record over several lines, or a stray quote: record by record
                lines = chunk.split(b"\n")
                lines.pop()
                return b"".join(
                    self._careful_lines([ln + b"\n" for ln in lines], first, self._more)
                )
        sent, sent_nl = chunk, nl  # the lines as sent, for the record-by-record path
        # where each line's content ends: its LF, or the CR of a CR LF ending
        ends, eol, bare_cr = nl, _LF, False
        if b"\r" not in chunk:
            lines = chunk.split(b"\n")
        elif _crlf_only(a, nl):
            # every line ends with CR LF and no other CR: read around the CRs (no copy)
            lines = chunk.split(b"\r\n")
            ends, eol = nl - 1, _CR
        else:  # mixed endings or bare CRs: make CR LF endings LF; a CR left is a bare one
            chunk = chunk.replace(b"\r\n", b"\n")
            a = np.frombuffer(chunk, np.uint8)
            nl = ends = np.flatnonzero(a == _LF)
            if has_quotes:
                qpos = np.flatnonzero(a == _QUOTE)
            lines = chunk.split(b"\n")
            bare_cr = b"\r" in chunk
        lines.pop()
        sink, n = self.sink, self.sink.n
        starts = np.empty_like(nl)
        starts[0] = 0
        starts[1:] = nl[:-1] + 1
        commas = np.flatnonzero(a == _COMMA)
        counts = np.diff(np.searchsorted(commas, nl), prepend=0)
        special = np.zeros(total, bool)  # decided record by record
        quote_lines = np.empty(0, np.int64)
        if has_quotes:
            # RFC 4180 only: an opening quote follows a delimiter or starts the line, a
            # closing quote is followed by one or ends the line (so no "" escapes here)
            prev = a[np.maximum(qpos - 1, 0)]
            after = a[qpos + 1]
            opening = (np.arange(len(qpos)) % 2) == 0
            good = np.where(
                opening,
                (prev == _COMMA) | (prev == _LF) | (qpos == 0),
                (after == _COMMA) | (after == eol),
            )
            quote_line_of = np.searchsorted(nl, qpos)
            special[quote_line_of[~good]] = True
            # distinct lines holding quotes (sorted already; np.unique would import numpy.ma,
            # a fifth of a second in a process that may not write bytecode)
            quote_lines = quote_line_of[np.diff(quote_line_of, prepend=-1) != 0]
            # commas inside quotes are data, not delimiters
            lo, hi = np.searchsorted(commas, qpos[0::2]), np.searchsorted(commas, qpos[1::2])
            width = hi - lo
            n_inside = int(width.sum())
            if n_inside:
                inside = np.repeat(lo - (np.cumsum(width) - width), width) + np.arange(n_inside)
                counts -= np.bincount(np.searchsorted(nl, commas[inside]), minlength=total)
                commas = np.delete(commas, inside)
        for byte, present in ((_NUL, b"\x00" in chunk), (_CR, bare_cr)):
            if present:
                special[np.searchsorted(nl, np.flatnonzero(a == byte))] = True
        if not chunk.isascii():
            try:
                chunk.decode("utf-8")
            except UnicodeDecodeError:
                special[_undecodable_lines(a, nl, lines)] = True
        ok = (counts == n - 1) & (ends > starts) & ~special
        # empty natural-key fields ("" quoted or nothing at all), from the delimiter positions
        if sink._key_pos and ok.any():
            cand = np.flatnonzero(ok)
            base = (np.cumsum(counts) - counts)[cand]
            for k in sink._key_pos:
                begin = starts[cand] if k == 0 else commas[base + k - 1] + 1
                end = ends[cand] if k == n - 1 else commas[base + k]
                # empty, "", or starting with a (possibly quoted) blank: the careful path decides
                lead = np.where(a[begin] == _QUOTE, a[np.minimum(begin + 1, len(a) - 1)], a[begin])
                empty = (
                    (end == begin) | ((end - begin == 2) & (a[begin] == _QUOTE)) | _BLANK_LEAD[lead]
                )
                ok[cand[empty]] = False
        keep = np.flatnonzero(ok)
        n_ok = len(keep)
        if n_ok == total:
            sel, numbers = lines, range(first, first + total)
        else:
            sel = [lines[i] for i in keep.tolist()]
            numbers = (keep + first).tolist()
        out: list[bytes] = []
        if sel:
            sources = sel
            if len(quote_lines):
                sources = list(sel)  # the hash sources differ, the lines are sent as they are
                # row hash of a quoted line: its values joined by commas = the line without quotes
                for j in np.searchsorted(keep, quote_lines[ok[quote_lines]]).tolist():
                    sources[j] = sources[j].replace(b'"', b"")
            hashes = [h.hexdigest().encode() for h in map(_md5, sources)]
            out.append(b"".join(map(self._fmt, zip(sel, numbers, hashes, strict=True))))
        sink.read += n_ok
        sink.loaded += n_ok
        if n_ok < total:
            for i in np.flatnonzero(~ok).tolist():
                begin = int(sent_nl[i - 1]) + 1 if i else 0
                out.extend(self._careful_lines([sent[begin : int(sent_nl[i]) + 1]], first + i))
        return b"".join(out)
