"""Crash points for the kill tests: ``CFZ_INGEST_CRASH_AT=<point>[@<file suffix>]``.

When the variable names a point (and the file being loaded ends with the suffix, if given),
the process kills itself with SIGKILL there, exactly as an operator's ``kill -9`` or an OOM
kill would. Points: ``mid_read`` (after each block read of the landing file), ``after_read``
(the private copy is complete and hashed), ``before_copy``, ``mid_copy`` (after the first
batch was sent), ``before_ledger``, ``before_rejects``, ``before_commit``, ``after_commit``.
Unset in production, where each check is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal


def crash_point(point: str, rel_path: str) -> None:
    """SIGKILL this process if ``CFZ_INGEST_CRASH_AT`` names ``point`` (and this file)."""
    spec = os.environ.get("CFZ_INGEST_CRASH_AT")
    if not spec:
        return
    name, _, suffix = spec.partition("@")
    if name == point and (not suffix or rel_path.endswith(suffix)):
        os.kill(os.getpid(), signal.SIGKILL)
