"""Benchmark: ``run_ingest`` of a large LB CSV vs a plain ``psql \\copy`` of the same file.

Steps:
1. generate a plausible LB delivery file (default 2,000,000 rows, ~20 columns, fixed seed)
   into a temporary landing root, unless it already exists;
2. plain COPY: ``psql -c "\\copy bench_plain.lb from FILE csv header"`` into a bare table of
   text columns (created fresh), timed as a subprocess;
3. ``run_ingest`` on a landing root holding only that file, into a fresh ``raw.lb``
   (the bench drops and recreates ``raw.lb`` and the ledger rows of its own file only in
   the database it is pointed at: use a scratch warehouse, e.g. CFZ_WAREHOUSE_DB=dev_ingest);
4. print rows/s for both and the ratio (a diagnostic on one file: issue 18's targets,
   >= 0.6 at 1,000 and >= 0.8 at 10,000 subjects, are bench/nightly.py's, over whole landings).

Run: ``CFZ_WAREHOUSE_DB=dev_ingest .venv/bin/python bench/ingest.py [--rows N] [--dir DIR]``
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from cfz_platform.config import apply_runtime_env
from cfz_platform.db import warehouse

DELIVERY = "20260301T020000"
HEADER = [
    "STUDYID",
    "DOMAIN",
    "USUBJID",
    "LBSEQ",
    "LBREFID",
    "LBTESTCD",
    "LBTEST",
    "LBCAT",
    "LBSPEC",
    "LBORRES",
    "LBORRESU",
    "LBORNRLO",
    "LBORNRHI",
    "LBSTRESC",
    "LBSTRESN",
    "LBSTRESU",
    "LBSTNRLO",
    "LBSTNRHI",
    "LBSTAT",
    "VISIT",
    "LBDTC",
]
TESTS = [  # code, name, category, specimen, unit, lo, hi, typical
    ("MPROTEIN", "M-Protein", "SPEP", "SERUM", "g/dL", "", "", 2.1),
    ("KLCFR", "Kappa Light Chain, Free", "FLC", "SERUM", "mg/dL", "0.33", "1.94", 15.0),
    ("LLCFR", "Lambda Light Chain, Free", "FLC", "SERUM", "mg/dL", "0.57", "2.63", 1.2),
    ("HGB", "Hemoglobin", "HEMATOLOGY", "BLOOD", "g/dL", "12", "16", 10.5),
    ("PLAT", "Platelets", "HEMATOLOGY", "BLOOD", "10^9/L", "150", "400", 180.0),
    ("NEUT", "Neutrophils", "HEMATOLOGY", "BLOOD", "10^9/L", "1.8", "7.7", 3.2),
    ("CREAT", "Creatinine", "CHEMISTRY", "SERUM", "mg/dL", "0.6", "1.2", 1.0),
    ("CA", "Calcium", "CHEMISTRY", "SERUM", "mg/dL", "8.5", "10.2", 9.4),
    ("B2MICG", "Beta-2 Microglobulin", "CHEMISTRY", "SERUM", "mg/L", "0.8", "2.2", 3.9),
    ("ALB", "Albumin", "CHEMISTRY", "SERUM", "g/dL", "3.5", "5.0", 3.8),
]


def generate_lb(path: Path, rows: int, seed: int = 20140127) -> None:
    """Write a plausible LB CSV: subjects x visits x tests, values near typical levels."""
    rng = random.Random(seed)
    start = date(2026, 1, 5)
    per_subject = 400
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(HEADER)
        n = 0
        subj = 0
        while n < rows:
            subj += 1
            usubjid = f"CFZ-MM-01-{subj:05d}"
            for seq in range(1, per_subject + 1):
                if n >= rows:
                    break
                code, name, cat, spec, unit, lo, hi, typical = TESTS[seq % len(TESTS)]
                visit_no = seq // len(TESTS)
                cycle, day = divmod(visit_no, 3)
                visit = f"C{cycle + 1}D{(1, 8, 15)[day]}"
                dtc = (
                    start + timedelta(days=subj % 200 + cycle * 28 + (0, 7, 14)[day])
                ).isoformat()
                value = f"{typical * rng.uniform(0.6, 1.4):.2f}"
                w.writerow(
                    [
                        "CFZ-MM-01",
                        "LB",
                        usubjid,
                        seq,
                        f"L{subj:05d}{seq:04d}",
                        code,
                        name,
                        cat,
                        spec,
                        value,
                        unit,
                        lo,
                        hi,
                        value,
                        value,
                        unit,
                        lo,
                        hi,
                        "",
                        visit,
                        f"{dtc}T08:{seq % 60:02d}",
                    ]
                )
                n += 1


def bench_psql_copy(csv_path: Path) -> float:
    """Seconds for a plain ``psql \\copy`` into a bare text table (created fresh)."""
    url = warehouse.settings().url()
    cols = ", ".join(f"{c.lower()} text" for c in HEADER)
    setup = f"drop schema if exists bench_plain cascade; create schema bench_plain; create table bench_plain.lb ({cols});"
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", setup], check=True)
    t0 = time.perf_counter()
    subprocess.run(
        [
            "psql",
            url,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-c",
            f"\\copy bench_plain.lb from '{csv_path}' csv header",
        ],
        check=True,
    )
    elapsed = time.perf_counter() - t0
    subprocess.run(["psql", url, "-q", "-c", "drop schema bench_plain cascade"], check=True)
    return elapsed


def reset_raw_lb() -> None:
    """Empty the bench database's raw.lb and ledger so run_ingest loads the file again."""
    from cfz_platform.ingest import ensure_raw_layer

    with warehouse.connect(autocommit=True) as conn:
        ensure_raw_layer(conn)
        conn.execute(
            "delete from audit.ingest_rejects where rel_path = %s", (f"{DELIVERY}/lb.csv",)
        )
        conn.execute("delete from audit.ingest_files where rel_path = %s", (f"{DELIVERY}/lb.csv",))
        conn.execute("truncate raw.lb")


def _count_rows(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh) - 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--dir", type=Path, default=None, help="Keep the generated landing here.")
    args = parser.parse_args()
    apply_runtime_env()
    if warehouse.settings().dbname == "cfz":
        print(
            "refusing to run against the main warehouse 'cfz': set CFZ_WAREHOUSE_DB",
            file=sys.stderr,
        )
        return 2
    warehouse.ensure_warehouse()
    root = args.dir or Path(tempfile.mkdtemp(prefix="cfz_bench_ingest_"))
    landing = root / "landing"
    csv_path = landing / DELIVERY / "lb.csv"
    if not csv_path.exists() or _count_rows(csv_path) != args.rows:
        csv_path.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        generate_lb(csv_path, args.rows)
        print(
            f"generated {args.rows:,} LB rows ({csv_path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s"
        )

    from cfz_platform.ingest import run_ingest

    plain = bench_psql_copy(csv_path)
    reset_raw_lb()
    t0 = time.perf_counter()
    summary = run_ingest(landing, run_id="bench")
    ours = time.perf_counter() - t0
    assert summary.rows_loaded == args.rows, summary.headline()
    plain_rate, our_rate = args.rows / plain, args.rows / ours
    print(f"psql \\copy   : {args.rows:,} rows in {plain:6.1f} s = {plain_rate:10,.0f} rows/s")
    print(
        f"run_ingest   : {args.rows:,} rows in {ours:6.1f} s = {our_rate:10,.0f} rows/s "
        "(sha256, checks, row hash, lineage, ledger)"
    )
    print(
        f"ratio ingest/plain = {our_rate / plain_rate:.2f} (one large file; the targets are bench/nightly.py's)"
    )
    reset_raw_lb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
