"""Benchmark: the nightly's floor, what it costs before any data (issue 18's fixed-cost ratios).

Two of issue 18's targets compare a run that is mostly fixed cost with a 1,000-subject run:
time(45)/time(1,000) <= 0.3 and incremental/full at 1,000 <= 0.15. This script measures the
part of a nightly that no amount of data-path work removes, and prints the lowest ratios it
allows next to the nightlies measured in the same run.

Steps:
1. references: the nightly flow (``bench/nightly.py``'s worker: Prefect, fresh warehouse) on
   the cached 45- and 1,000-subject landings (``out/bench/n<size>_s<seed>``);
2. in one fresh worker process, the imports a nightly pays, one after the other in the flow's
   order, each timed on its own: Prefect and the flow module, Great Expectations, dbt,
   scikit-learn, MLflow's scikit-learn flavour, matplotlib;
3. in the same process (imports now paid), a fresh warehouse with an EMPTY raw layer: the raw
   gate; the dbt step (the candidate, a full build, seeds included); the mart gate; publish;
   then the dbt step twice more with nothing new (incremental builds, as every later night
   finds the warehouse: a published build and a previous one), keeping the lower;
4. print the floors:
   - full nightly of any trial >= imports of GX and dbt + empty raw gate + empty
     full dbt step + empty mart gate + train(45) of the reference, imports included (the model
     card's validation: 20 repeats x 5 folds x 4 pipelines at 45 subjects, fixed by
     ``models/early_response.yml``, not by the data size);
   - incremental nightly >= every import above but Prefect's, which the reference nightly pays
     before its clock starts (no training, but the score step loads
     MLflow's scikit-learn model and the report draws with matplotlib) + empty raw gate +
     empty incremental dbt step + empty mart gate;
   and the ratios those floors allow against the reference time(1,000).

Run: ``.venv/bin/python bench/floor.py [--seed N] [--deliveries 12] [--keep]`` (about 3 minutes;
the embedded cluster must be running: ``uv run cfz db start``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

import nightly  # bench/nightly.py (this folder is on sys.path when run as a script)

#: The imports of a nightly, in the order its steps first need them.
IMPORTS = (
    ("prefect", "prefect, flows.nightly"),
    ("gx", "great_expectations"),
    ("dbt", "dbt.cli.main"),
    ("sklearn", "sklearn.ensemble, sklearn.linear_model, sklearn.pipeline"),
    ("mlflow", "mlflow.sklearn"),
    ("matplotlib", "matplotlib.pyplot"),
)
#: Imports counted in the full nightly's floor. Prefect is left out: the reference nightly
#: imports the flow before its clock starts. The train step, counted whole, imports
#: scikit-learn, MLflow and matplotlib itself.
FULL_IMPORTS = ("gx", "dbt")
#: Imports an incremental nightly without training still pays: the score step loads MLflow's
#: scikit-learn model, the report draws with matplotlib.
INCREMENTAL_IMPORTS = ("gx", "dbt", "sklearn", "mlflow", "matplotlib")
FLOOR_DB = "bench_floor_empty"
REFERENCE_SIZES = (45, 1000)


def compute_import_seconds() -> dict[str, float]:
    """Import each group of ``IMPORTS`` in turn; return the seconds each added."""
    import importlib

    root = str(nightly.ROOT)
    if root not in sys.path:
        sys.path.insert(0, root)
    seconds = {}
    for name, modules in IMPORTS:
        start = time.perf_counter()
        for module in modules.split(", "):
            importlib.import_module(module)
        seconds[name] = time.perf_counter() - start
    return seconds


def compute_empty_trial_seconds(run_id: str) -> dict[str, float]:
    """The nightly's gate and build steps on an empty raw layer (fresh warehouse)."""
    from cfz_platform.orchestration import steps
    from cfz_platform.transform.pipeline import ensure_raw, gate

    nightly._fresh_warehouse(FLOOR_DB)
    ensure_raw()
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    gate("raw", run_id)
    seconds["raw_gate"] = time.perf_counter() - start
    build, candidate, _notes = steps.step_build()
    seconds["dbt_full"] = build.seconds
    start = time.perf_counter()
    gate("mart", run_id, marts_schema=candidate)  # an empty trial fails it: only its time counts
    seconds["mart_gate"] = time.perf_counter() - start
    steps.step_publish()
    incremental = []
    for _ in range(2):
        build, _candidate, _notes = steps.step_build()
        incremental.append(build.seconds)
        steps.step_publish()
    seconds["dbt_incremental"] = min(incremental)
    return seconds


def worker_floor(_args: argparse.Namespace) -> dict:
    imports = compute_import_seconds()
    empty = compute_empty_trial_seconds(f"bench-floor-{os.getpid()}")
    return {"imports": imports, "empty": empty}


def _floors(floor: dict, train45: float) -> tuple[float, float]:
    """(full nightly floor, incremental nightly floor) in seconds."""
    imports, empty = floor["imports"], floor["empty"]
    gates = empty["raw_gate"] + empty["mart_gate"]
    full = sum(imports[k] for k in FULL_IMPORTS) + gates + empty["dbt_full"] + train45
    incremental = sum(imports[k] for k in INCREMENTAL_IMPORTS) + gates + empty["dbt_incremental"]
    return full, incremental


def print_floor(meta: dict, runs: dict[str, dict], floor: dict) -> None:
    imports, empty = floor["imports"], floor["empty"]
    t45, t1000 = runs["45"]["total"], runs["1000"]["total"]
    train45 = runs["45"]["steps"].get("train", 0.0)
    full, incremental = _floors(floor, train45)
    print(
        f"cfz floor bench  {meta['when']}  seed {meta['seed']}  deliveries {meta['deliveries']}  "
        f"load avg before {meta['load_before']}  after {meta['load_after']}  cores {os.cpu_count()}"
    )
    print(
        f"reference    nightly time(45) = {t45:.1f} s (train {train45:.1f} s), "
        f"time(1000) = {t1000:.1f} s"
    )
    shown = ", ".join(f"{k} {v:.1f}" for k, v in imports.items())
    print(f"imports      {sum(imports.values()):.1f} s ({shown})")
    print(
        f"empty trial  raw gate {empty['raw_gate']:.1f} s, dbt full {empty['dbt_full']:.1f} s, "
        f"dbt incremental (nothing new) {empty['dbt_incremental']:.1f} s, "
        f"mart gate {empty['mart_gate']:.1f} s"
    )
    print(
        f"fixed cost   floor of any full nightly {full:.1f} s (gx, dbt imports + empty "
        f"trial + train(45)) "
        f"-> time(45)/time(1000) >= {full:.1f}/{t1000:.1f} = {full / t1000:.2f}  "
        f"(measured {t45 / t1000:.2f}, target <= 0.3)"
    )
    print(
        f"incremental  floor of an incremental nightly {incremental:.1f} s (imports but prefect + empty "
        f"trial, incremental dbt) -> incremental/full at 1000 >= {incremental:.1f}/{t1000:.1f} "
        f"= {incremental / t1000:.2f}  (target <= 0.15)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=20140127)
    parser.add_argument("--deliveries", type=int, default=12)
    parser.add_argument("--keep", action="store_true", help="Keep the bench warehouses.")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    from cfz_platform.config import apply_runtime_env

    apply_runtime_env()
    if args.worker:
        print(nightly.MARK + json.dumps(worker_floor(args)), flush=True)
        return 0

    meta = {
        "when": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "seed": args.seed,
        "deliveries": args.deliveries,
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    dbs = [f"bench_{n}" for n in REFERENCE_SIZES] + [FLOOR_DB]
    try:
        runs = {}
        for n in REFERENCE_SIZES:
            landing = nightly.ensure_landing(n, args.seed, args.deliveries)
            runs[str(n)] = nightly.run_worker("nightly", f"bench_{n}", landing)
        floor = nightly.run_script_worker(Path(__file__), FLOOR_DB)
    finally:
        if not args.keep:
            from cfz_platform.db import warehouse

            for db in dbs:
                warehouse.drop_database(db)
    meta["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print_floor(meta, runs, floor)
    return 0


if __name__ == "__main__":
    sys.exit(main())
