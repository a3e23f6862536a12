"""XPT bytes that depend on the data only: ``compute_fixed_xpt_header`` (analysis cuts)."""

from __future__ import annotations

import datetime as dt
import hashlib
import time

import pandas as pd
import pyreadstat

from cfz_platform.export.adam import compute_fixed_xpt_header


def _write(path, frame: pd.DataFrame) -> bytes:
    pyreadstat.write_xport(frame, str(path), table_name="ADSL", file_format_version=5)
    return path.read_bytes()


def test_stamped_xpt_files_written_at_different_times_are_identical(tmp_path):
    """pyreadstat writes the time of writing into four header fields: two files of the same
    data a second apart differ; stamped with the cutoff they are byte-identical, carry the
    cutoff, and still read back with the same data."""
    frame = pd.DataFrame({"USUBJID": ["S1", "S2"], "AGE": [61.0, 70.0]})
    first = _write(tmp_path / "a.xpt", frame)
    time.sleep(1.1)
    second = _write(tmp_path / "b.xpt", frame)
    assert first != second
    stamp = dt.datetime(2026, 3, 31)
    a, b = compute_fixed_xpt_header(first, stamp), compute_fixed_xpt_header(second, stamp)
    assert hashlib.md5(a).hexdigest() == hashlib.md5(b).hexdigest()
    assert a.count(b"31MAR26:00:00:00") == 4
    (tmp_path / "c.xpt").write_bytes(a)
    back, _ = pyreadstat.read_xport(str(tmp_path / "c.xpt"))
    assert back.to_dict("list") == frame.to_dict("list")
