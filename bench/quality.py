"""Peak Python memory of the raw gate at 1,000 vs 10,000 subjects (SQL pushdown check).

Usage (uses the warehouse named by CFZ_WAREHOUSE_DB; the raw tables of that database are
REPLACED with generated rows, so point it at a scratch database):

    CFZ_WAREHOUSE_DB=bench_gx .venv/bin/cfz db start
    CFZ_WAREHOUSE_DB=bench_gx .venv/bin/python bench/quality.py [--subjects 1000 10000]

Steps: for each size, (1) regenerate raw.dm / raw.lb / raw.rs in PostgreSQL with
``generate_series`` (30 lab rows and 4 responses per subject; nothing passes through Python);
(2) run the raw gate once to warm GX up; (3) run it again under ``tracemalloc`` and report the
peak traced allocation and the RSS growth. A gate that pulled tables into Python would grow
roughly 10x between the sizes; SQL pushdown keeps it flat.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

LB_PER_SUBJECT = 30
RS_PER_SUBJECT = 4


def generate_raw(conn, n_subjects: int) -> int:
    """Replace raw.dm/lb/rs with ``n_subjects`` generated subjects; return the lab row count."""
    from cfz_platform.ingest import ensure_raw_layer

    ensure_raw_layer(conn)
    conn.execute("truncate raw.dm, raw.lb, raw.rs, raw.ex, raw.cm, raw.ae, raw.vs")
    lineage = "1, '20261231T020000', '20261231T020000/{d}.csv', {line}, md5(g::text)"
    conn.execute(
        "insert into raw.dm (_file_id, _delivery_id, _file, _line, _row_hash, usubjid, siteid, armcd, rfstdtc) "
        f"select {lineage.format(d='dm', line='g + 1')}, 'S' || lpad(g::text, 6, '0'), '01', 'A', '2026-01-05' "
        "from generate_series(1, %s) g",
        (n_subjects,),
    )
    conn.execute(
        "insert into raw.lb (_file_id, _delivery_id, _file, _line, _row_hash, usubjid, lbtestcd, lbspec, lborres, "
        "lborresu, lbdtc) "
        f"select {lineage.format(d='lb', line='g * 100 + k')}, 'S' || lpad(g::text, 6, '0'), "
        "(array['MPROTEIN', 'ALB', 'PLAT', 'HGB', 'NEUT'])[1 + k %% 5], "
        "(array['SERUM', 'SERUM', 'BLOOD', 'BLOOD', 'BLOOD'])[1 + k %% 5], "
        "round((1 + random() * 3)::numeric, 2)::text, "
        "(array['g/dL', 'g/dL', '10^9/L', 'g/dL', '10^9/L'])[1 + k %% 5], "
        "to_char(date '2026-01-05' + (k / 5) * 7, 'YYYY-MM-DD') "
        "from generate_series(1, %s) g cross join generate_series(0, %s) k",
        (n_subjects, LB_PER_SUBJECT - 1),
    )
    conn.execute(
        "insert into raw.rs (_file_id, _delivery_id, _file, _line, _row_hash, usubjid, rstestcd, rsstresc, rsdtc) "
        f"select {lineage.format(d='rs', line='g * 10 + k')}, 'S' || lpad(g::text, 6, '0'), 'OVRLRESP', "
        "(array['PR', 'VGPR', 'SD', 'MR'])[1 + k], to_char(date '2026-02-02' + k * 28, 'YYYY-MM-DD') "
        "from generate_series(1, %s) g cross join generate_series(0, %s) k",
        (n_subjects, RS_PER_SUBJECT - 1),
    )
    conn.execute("analyze raw.dm; analyze raw.lb; analyze raw.rs")
    return n_subjects * LB_PER_SUBJECT


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def measure(n_subjects: int, root: str) -> dict:
    """Generate the raw layer for ``n_subjects`` and measure one raw-gate run."""
    from cfz_platform.db import warehouse
    from cfz_platform.quality import run_gate

    with warehouse.connect(autocommit=True) as conn:
        n_lab = generate_raw(conn, n_subjects)
    run_gate("raw", build_docs=False, run_id=f"warm{n_subjects}")
    rss0 = rss_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    report = run_gate("raw", build_docs=False, run_id=f"bench{n_subjects}")
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "subjects": n_subjects,
        "lab_rows": n_lab,
        "peak_mb": peak / 2**20,
        "rss_growth_mb": rss_mb() - rss0,
        "seconds": seconds,
        "passed": report.passed,
        "expectations": len(report.results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    from cfz_platform.config import apply_runtime_env

    apply_runtime_env()
    with tempfile.TemporaryDirectory() as root:
        os.environ["CFZ_GX_PROJECT_DIR"] = root
        rows = [measure(n, root) for n in args.subjects]
    print(f"{'subjects':>9} {'lab rows':>9} {'peak MB':>8} {'RSS +MB':>8} {'seconds':>8} passed")
    for r in rows:
        print(
            f"{r['subjects']:>9} {r['lab_rows']:>9} {r['peak_mb']:>8.1f} {r['rss_growth_mb']:>8.1f} "
            f"{r['seconds']:>8.1f} {r['passed']}"
        )
    if len(rows) > 1:
        print(f"peak ratio largest/smallest: {rows[-1]['peak_mb'] / rows[0]['peak_mb']:.2f}")


if __name__ == "__main__":
    main()
