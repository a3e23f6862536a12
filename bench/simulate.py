"""Generation throughput of the trial simulator at 1,000 and 10,000 subjects (rows/s).

Run: ``.venv/bin/python bench/simulate.py [--sizes 1000 10000]``. Writes to a temp folder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from cfz_platform.simulate.params import SimConfig
from cfz_platform.simulate.trial import run_simulation


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--seed", type=int, default=20140127)
    args = ap.parse_args()
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            s = run_simulation(SimConfig(patients=n, seed=args.seed), Path(tmp) / "landing")
            dt = time.perf_counter() - t0
            print(
                f"{n:>6} subjects: {s['rows']:>9} rows in {dt:6.1f} s = {s['rows'] / dt:>9,.0f} rows/s "
                f"({dt / n * 1000:.2f} ms/subject, {s['errors']} injected problems)"
            )


if __name__ == "__main__":
    main()
