"""Text that came from a landing folder (file names, reasons) made safe to print and store.

A file name may hold a newline, a terminal escape or bytes that are not UTF-8: printed as is,
it could forge lines of the CLI output or the logs, and PostgreSQL text cannot hold the
undecodable bytes. ``escape_text`` is applied to every name and reason a run prints or
records.
"""

from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def escape_text(text: str) -> str:
    """Escape control, format, separator and undecodable characters; the rest is unchanged.

    Steps: ``\\n``, ``\\r``, ``\\t`` and the backslash get their usual escapes (so the result
    is unambiguous); any other character of Unicode category Cc, Cf, Cs (an undecodable byte
    as ``os.fsdecode`` gives it), Zl or Zp becomes ``\\xNN`` / ``\\uNNNN``.
    """
    if text.isprintable() and "\\" not in text:
        return text
    out = []
    for ch in text:
        if ch in _NAMED:
            out.append(_NAMED[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            code = ord(ch)
            if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
                out.append(f"\\x{code - 0xDC00:02x}")
            else:
                out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
