"""The suite's own test scheduling (tests/scheduling.py) under pytest-xdist, as `make test`
runs it (``-n ... --dist loadfile``): a module marked slow is handed out before a module with
more tests, though pytest-xdist would sort the modules by their number of tests; the seconds
each module took are written where ``CFZ_TEST_MODULE_SECONDS`` says."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

CONFTEST = """
from tests.scheduling import *  # noqa: F403 (its hooks, as tests/conftest.py takes them)
"""

MANY_QUICK = """
import pytest


@pytest.mark.parametrize("n", range(5))
def test_quick(n):
    assert n < 5
"""

ONE_SLOW = """
import pytest

pytestmark = pytest.mark.slow


def test_long():
    assert True
"""


def _run_order(folder: Path, seconds_file: Path) -> list[str]:
    """The modules of ``folder`` in the order one xdist worker ran their tests (their
    seconds written to ``seconds_file``)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-n",
            "1",
            "--dist",
            "loadfile",
            "-v",
            "-p",
            "no:cacheprovider",
            "-o",
            "markers=slow: long",
            str(folder),
        ],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT), "CFZ_TEST_MODULE_SECONDS": str(seconds_file)},
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    ran = re.findall(r"PASSED (\S+?\.py)::", proc.stdout)
    assert len(ran) == 6, proc.stdout[-3000:]
    return list(dict.fromkeys(ran))


def test_a_slow_module_runs_before_a_module_with_more_tests(tmp_path):
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_a_many_quick.py").write_text(MANY_QUICK)
    (tmp_path / "test_b_one_slow.py").write_text(ONE_SLOW)
    seconds_file = tmp_path / "seconds.json"
    assert _run_order(tmp_path, seconds_file) == ["test_b_one_slow.py", "test_a_many_quick.py"]
    # the run's seconds per module, for bench/suite_schedule.py
    seconds = json.loads(seconds_file.read_text())
    assert sorted(seconds) == ["test_a_many_quick.py", "test_b_one_slow.py"]
    assert all(s >= 0 for s in seconds.values())
