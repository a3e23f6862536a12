"""The gate runs in PostgreSQL: its peak Python memory does not grow with the data.

A small version of bench/quality.py (which compares 1,000 and 10,000 subjects): 20 vs 200
subjects (600 vs 6,000 lab rows), measured with tracemalloc around the second run of the
raw gate (the first warms up GX's caches).
"""

from __future__ import annotations

import importlib.util

from tests.conftest import ROOT


def _bench():
    spec = importlib.util.spec_from_file_location("bench_quality", ROOT / "bench" / "quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_raw_gate_peak_memory_is_flat_in_the_number_of_subjects(warehouse_db, gx_dir):
    bench = _bench()
    small = bench.measure(20, str(gx_dir))
    large = bench.measure(200, str(gx_dir))
    assert small["passed"] and large["passed"]
    assert large["lab_rows"] == 10 * small["lab_rows"]
    # 10x the rows; a gate that fetched rows would need ~10x the memory.
    assert large["peak_mb"] < 1.5 * small["peak_mb"] + 2, (small, large)
