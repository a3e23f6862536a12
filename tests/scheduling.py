"""Test-session hooks (imported by tests/conftest.py): slow modules start first, and the
session ends with the wall time each module took.

With ``pytest -n 2 --dist loadfile`` each module runs whole on one worker, handed out in
collection order. A long module collected last (the CDISC pilot, the end-to-end nightly)
would start when the other worker is nearly done and leave it idle. Steps of
``pytest_collection_modifyitems``: sort the items by (module not marked ``slow``, original
position), a stable sort, so every worker computes the same order, and the ``slow`` modules
are handed out first. pytest-xdist (3.6 and later) would hand out the modules by their number
of tests instead (``--loadscope-reorder``, on by default: the one-test demo and the four-test
publish-integrity module went last, and one worker ran them alone while the other stood idle);
``pytest_configure`` turns that reordering off, so the workers take the modules in the order
computed here. ``pytest_terminal_summary`` sums each module's setup, call and teardown
durations (module fixtures included) and prints the ten longest; with
``CFZ_TEST_MODULE_SECONDS=<file>`` it also writes every module's seconds there as JSON (what
``bench/suite_schedule.py`` replays).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import pytest

_module_seconds: dict[str, float] = defaultdict(float)


def _is_slow(item: pytest.Item) -> bool:
    return item.get_closest_marker("slow") is not None


def pytest_configure(config: pytest.Config) -> None:
    """Keep the collection order under ``--dist loadfile``/``loadscope`` (no reordering by
    number of tests: ``--no-loadscope-reorder``)."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (not _is_slow(item), order[id(item)]))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _module_seconds[report.nodeid.split("::", 1)[0]] += report.duration


def pytest_terminal_summary(terminalreporter) -> None:
    if not _module_seconds:
        return
    if out := os.environ.get("CFZ_TEST_MODULE_SECONDS"):
        Path(out).write_text(json.dumps(dict(sorted(_module_seconds.items())), indent=1) + "\n")
    longest = sorted(_module_seconds.items(), key=lambda kv: kv[1], reverse=True)[:10]
    terminalreporter.write_sep("-", "longest modules (setup + tests + teardown, seconds)")
    for module, seconds in longest:
        terminalreporter.write_line(f"{seconds:8.1f}  {module}")
