"""`make demo` runs `cfz demo`: from nothing to the report, then a quick no-op when rerun.

A smaller trial than the default (12 subjects) keeps it short; the command, its wiring of
`simulate` and `nightly`, and what it prints are the real ones.
"""

from __future__ import annotations

import pytest

from tests.conftest import run_cfz

pytestmark = pytest.mark.slow


def test_demo_reaches_the_report_and_a_rerun_is_a_no_op(warehouse_db, tmp_path):
    out = tmp_path / "out"
    first = run_cfz("demo", "--out", str(out), "--patients", "12", timeout=1800)
    assert "[demo] 3/3 nightly flow over every delivery" in first.stdout
    assert (out / "report" / "index.html").is_file()
    assert (out / "truth" / "subjects.csv").is_file()
    assert f"trial report      {(out / 'report' / 'index.html').resolve()}" in first.stdout
    again = run_cfz("demo", "--out", str(out), "--patients", "12", timeout=1800)
    assert "reusing the simulated trial" in again.stdout
    assert "no new delivery: nothing to do" in again.stdout
