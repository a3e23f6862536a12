"""Benchmark: the whole nightly flow at 45, 1,000 and 10,000 subjects, incremental vs full,
orchestration overhead, ingestion vs plain COPY.

Steps:
1. simulate each trial size (fixed seed, ``--deliveries`` deliveries) into
   ``out/bench/n<size>_s<seed>/landing`` unless it is there already (git-ignored cache);
2. per size, in a fresh worker process and a fresh warehouse ``bench_<size>``: run the
   nightly flow (Prefect, long-running local server) over all deliveries; record the wall time
   of each step, the flow's total, the worker's peak RSS (``resource.getrusage(RUSAGE_SELF)
   .ru_maxrss``: dbt, GX and scikit-learn all run inside that process), and the rows in
   ``raw.*`` and ``marts.*``;
3. incremental (largest size): fresh warehouse ``bench_<size>_inc``; a nightly over the first
   K-2 deliveries, then one over K-1 (not measured: they leave ``marts`` and ``marts_previous``
   as every later night finds them), then a nightly over all K (measured: one new delivery);
   compared with the full rebuild of step 2 (a fresh warehouse, all K deliveries);
4. orchestration overhead (``--overhead-size``, default 1,000): fresh warehouse
   ``bench_<size>_direct``; the same steps called directly (``cfz_platform.orchestration.steps``)
   without Prefect; ratio nightly total / direct total;
5. ingestion vs plain COPY (largest size), in one worker, alternated COPY, ingest, ingest,
   COPY (so neither side always has the warmer cache): COPY = every landing file, with
   structurally broken lines removed beforehand (COPY would stop at them), ``\\copy``-ed by ONE
   ``psql`` session into bare text tables; ingest = ``run_ingest`` of the same landing into a
   fresh warehouse; ratio of the mean rates (rows/s);
6. print the fixed table layout described in ``bench/README.md``; drop the bench warehouses
   (``--keep`` keeps them).

Run: ``.venv/bin/python bench/nightly.py [--sizes 45,1000,10000] [--seed N] [--deliveries 12]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from cfz_platform.orchestration.steps import STEP_NAMES as STEPS

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "out" / "bench"
MARK = "BENCH_RESULT "
#: Targets of issue 18 (ratios from one run): time(b)/time(a), incremental/full and
#: ingestion/COPY per trial size.
SCALING_TARGETS = {(1000, 10000): 6}
INCREMENTAL_TARGETS = {1000: 0.15, 10000: 0.10}
COPY_TARGETS = {1000: 0.6, 10000: 0.8}


def _target(targets: dict[int, float], size: int, op: str) -> str:
    return f"  (target {op} {targets[size]})" if size in targets else ""


# --------------------------------------------------------------------------- landing cache


def trial_dir(size: int, seed: int, deliveries: int) -> Path:
    suffix = "" if deliveries == 12 else f"_k{deliveries}"
    return CACHE / f"n{size}_s{seed}{suffix}"


def ensure_landing(size: int, seed: int, deliveries: int) -> Path:
    """Simulate the trial once; a ``.complete`` marker makes reruns skip it."""
    base = trial_dir(size, seed, deliveries)
    landing = base / "landing"
    if (base / ".complete").exists():
        return landing
    from cfz_platform.simulate.params import SimConfig
    from cfz_platform.simulate.trial import run_simulation

    t0 = time.perf_counter()
    run_simulation(
        SimConfig(patients=size, seed=seed, deliveries=deliveries), landing, base / "truth"
    )
    (base / ".complete").write_text(f"{time.perf_counter() - t0:.1f}\n")
    print(f"simulated {size} subjects in {time.perf_counter() - t0:.0f} s -> {landing}", flush=True)
    return landing


def partial_landing(landing: Path, drop_last: int = 1) -> Path:
    """A landing root without the last ``drop_last`` deliveries (hard links to the cached files:
    the ingestion quarantines symbolic links unread)."""
    deliveries = sorted(p for p in landing.iterdir() if p.is_dir())
    keep = deliveries[:-drop_last]
    part = landing.parent / f"landing_first{len(keep)}"
    part.mkdir(exist_ok=True)
    for d in keep:
        link = part / d.name
        if not link.exists():
            shutil.copytree(d.resolve(), link, copy_function=os.link)
    return part


def clean_copies(landing: Path) -> list[tuple[str, Path, list[str]]]:
    """Per landing CSV: (domain, cleaned copy, header) with lines COPY would reject removed."""
    out_root = landing.parent / "copy_clean"
    files = []
    for path in sorted(landing.glob("*/*.csv")):
        dest = out_root / path.parent.name / path.name
        header: list[str] | None = None
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            with (
                open(path, encoding="utf-8", errors="surrogateescape", newline="") as src,
                open(dest.with_suffix(".tmp"), "w", encoding="utf-8", newline="") as dst,
            ):
                reader, writer = csv.reader(src), csv.writer(dst, lineterminator="\n")
                header = next(reader)
                writer.writerow(header)
                for row in reader:
                    if len(row) != len(header) or any(
                        "\udc80" <= ch <= "\udcff" for v in row for ch in v
                    ):
                        continue
                    writer.writerow(row)
            dest.with_suffix(".tmp").rename(dest)
        if header is None:
            with open(dest, encoding="utf-8", newline="") as fh:
                header = next(csv.reader(fh))
        files.append((path.stem.lower(), dest, header))
    return files


# --------------------------------------------------------------------------- worker side


def _fresh_warehouse(db: str) -> None:
    from cfz_platform.db import warehouse

    warehouse.drop_database(db)
    warehouse.ensure_warehouse(db)


def _row_counts() -> dict[str, int]:
    from cfz_platform.db import warehouse

    counts = {"raw": 0, "marts": 0}
    with warehouse.connect(autocommit=True) as conn:
        tables = conn.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('raw', 'marts') and table_type = 'BASE TABLE'"
        ).fetchall()
        from psycopg import sql

        for schema, table in tables:
            n = conn.execute(
                sql.SQL("select count(*) from {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(table)
                )
            ).fetchone()[0]
            counts[schema] += n
    return counts


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def worker_nightly(args: argparse.Namespace) -> dict:
    """Fresh warehouse; optional unmeasured nightly on ``--pre-landing``; measured nightly."""
    from cfz_platform.orchestration import prefect_server

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    prefect_server.use_local_server(start_if_needed=True)
    from flows.nightly import nightly

    _fresh_warehouse(args.db)
    report_dir = str(CACHE / "report" / args.db)
    for pre in filter(None, (args.pre_landing or "").split(",")):
        nightly(landing=pre, report_dir=report_dir)
    t0 = time.perf_counter()
    result = nightly(landing=args.landing, report_dir=report_dir, force=args.force)
    total = time.perf_counter() - t0
    steps = {name: s["seconds"] for name, s in result["steps"].items() if s["status"] != "skipped"}
    ingest_msg = result["steps"].get("ingest", {}).get("message", "")
    return {
        "outcome": result["outcome"],
        "steps": steps,
        "total": total,
        "rss_mb": _maxrss_mb(),
        "rows": _row_counts(),
        "ingest": ingest_msg,
        "skipped": [n for n, s in result["steps"].items() if s["status"] == "skipped"],
    }


def worker_direct(args: argparse.Namespace) -> dict:
    """Fresh warehouse; the nightly's steps called directly, no Prefect."""
    from cfz_platform.orchestration import steps

    _fresh_warehouse(args.db)
    run_id = f"bench-direct-{os.getpid()}"
    t0 = time.perf_counter()
    results = []
    ingested = steps.step_ingest(Path(args.landing), run_id=run_id)
    results.append(ingested.result)
    results.append(steps.step_freshness()[0])
    results.append(steps.step_gate("raw", run_id))
    build, candidate, _notes = steps.step_build()
    results.append(build)
    results.append(steps.step_gate("mart", run_id, marts_schema=candidate))
    results.append(steps.step_publish())
    if ingested.new_response_data:
        results.append(steps.step_train())
    results.append(steps.step_score())
    results.append(steps.step_report(CACHE / "report" / args.db)[0])
    total = time.perf_counter() - t0
    return {
        "outcome": "completed",
        "steps": {r.name: r.seconds for r in results if r.status != "skipped"},
        "total": total,
        "rss_mb": _maxrss_mb(),
        "rows": _row_counts(),
        "skipped": [],
    }


def worker_copy(args: argparse.Namespace) -> dict:
    """Ingestion vs plain COPY, alternated (COPY, ingest, ingest, COPY) so that neither side
    always runs on a warmer cache; each ingest into a fresh warehouse. Returns both rates as
    the mean over their two runs."""
    from cfz_platform.db import warehouse
    from cfz_platform.ingest import run_ingest

    runs: dict[str, list[dict]] = {"copy": [], "ingest": []}
    for kind in ("copy", "ingest", "ingest", "copy"):
        if kind == "copy":
            runs["copy"].append(_plain_copy(args.db, Path(args.landing)))
            continue
        _fresh_warehouse(args.db)
        t0 = time.perf_counter()
        summary = run_ingest(Path(args.landing))
        seconds = time.perf_counter() - t0
        runs["ingest"].append(
            {"rows": sum(f.rows_loaded for f in summary.files), "seconds": seconds}
        )
        print(
            f"[bench]   ingest {runs['ingest'][-1]['rows']:,} rows in {seconds:.1f} s", flush=True
        )
    warehouse.drop_database(args.db)

    def rate(kind: str) -> float:
        return sum(r["rows"] / r["seconds"] for r in runs[kind]) / len(runs[kind])

    return {
        "copy_rows": runs["copy"][0]["rows"],
        "files": runs["copy"][0]["files"],
        "copy_seconds": [r["seconds"] for r in runs["copy"]],
        "ingest_rows": runs["ingest"][0]["rows"],
        "ingest_seconds": [r["seconds"] for r in runs["ingest"]],
        "copy_rate": rate("copy"),
        "ingest_rate": rate("ingest"),
    }


def _plain_copy(db: str, landing: Path) -> dict:
    """``\\copy`` every cleaned landing file in one psql session into bare text tables."""
    from cfz_platform.db import warehouse

    warehouse.ensure_warehouse(db)
    files = clean_copies(landing)
    url = warehouse.settings(db).url()
    domains: dict[str, list[str]] = {}
    for domain, _, header in files:
        cols = domains.setdefault(domain, [])
        cols += [h.lower() for h in header if h.lower() not in cols]
    setup = ["drop schema if exists bench_plain cascade;", "create schema bench_plain;"]
    for domain, cols in domains.items():
        setup.append(f"create table bench_plain.{domain} ({', '.join(f'{c} text' for c in cols)});")
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", "\n".join(setup)], check=True)
    script = CACHE / f"copy_{db}.sql"
    rows = 0
    with open(script, "w") as fh:
        for domain, path, header in files:
            cols = ", ".join(h.lower() for h in header)
            fh.write(f"\\copy bench_plain.{domain} ({cols}) from '{path}' csv header\n")
            with open(path, "rb") as data:
                rows += sum(1 for _ in data) - 1
    t0 = time.perf_counter()
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-f", str(script)], check=True)
    seconds = time.perf_counter() - t0
    subprocess.run(["psql", url, "-q", "-c", "drop schema bench_plain cascade"], check=True)
    print(f"[bench]   psql \\copy {rows:,} rows in {seconds:.1f} s", flush=True)
    return {"rows": rows, "seconds": seconds, "files": len(files)}


WORKERS = {"nightly": worker_nightly, "direct": worker_direct, "copy": worker_copy}


def run_worker(
    kind: str, db: str, landing: Path, pre_landings: list[Path] | None = None, force: bool = False
) -> dict:
    """Run one measurement in a fresh Python process (clean peak-RSS figure)."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        kind,
        "--db",
        db,
        "--landing",
        str(landing),
    ]
    if pre_landings:
        cmd += ["--pre-landing", ",".join(str(p) for p in pre_landings)]
    if force:
        cmd.append("--force")
    return _run_measurement(cmd, db, f"{kind} on {db} ({landing.parent.name})", f"{kind}_{db}")


def run_script_worker(script: Path, db: str) -> dict:
    """Run ``script --worker`` (another bench script's measurement) in a fresh process on
    warehouse ``db``; it prints its result after ``MARK`` as this script's workers do."""
    cmd = [sys.executable, str(script.resolve()), "--worker"]
    return _run_measurement(cmd, db, f"{script.stem} on {db}", f"{script.stem}_{db}")


def _run_measurement(cmd: list[str], db: str, label: str, log_name: str) -> dict:
    """Run ``cmd`` with ``CFZ_WAREHOUSE_DB=db``, its output in ``out/bench/<log_name>.log``;
    return the JSON it printed after ``MARK`` (exit with the log's path when it failed)."""
    env = {**os.environ, "CFZ_WAREHOUSE_DB": db}
    print(f"[bench] {label}", flush=True)
    t0 = time.perf_counter()
    log = CACHE / f"{log_name}.log"
    with open(log, "w") as fh:
        proc = subprocess.run(
            cmd, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, text=True
        )
    lines = [ln for ln in log.read_text().splitlines() if ln.startswith(MARK)]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"[bench] {label} failed (exit {proc.returncode}); see {log}")
    result = json.loads(lines[-1][len(MARK) :])
    print(f"[bench]   done in {time.perf_counter() - t0:.0f} s", flush=True)
    return result


# --------------------------------------------------------------------------- table


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def row_line(label: str, r: dict) -> str:
    cells = [f"{label:<13}"] + [f"{_fmt(r['steps'].get(s)):>8}" for s in STEPS]
    cells += [
        f"{r['total']:>8.1f}",
        f"{r['rss_mb']:>8.0f}",
        f"{r['rows']['raw']:>10,}",
        f"{r['rows']['marts']:>10,}",
    ]
    return " | ".join(cells)


def print_table(meta: dict, runs: dict[str, dict], extra: dict) -> None:
    print()
    print(
        f"cfz nightly bench  {meta['when']}  seed {meta['seed']}  deliveries {meta['deliveries']}  "
        f"load avg before {meta['load_before']}  after {meta['load_after']}  cores {os.cpu_count()}"
    )
    print("peak RSS = resource.getrusage(RUSAGE_SELF).ru_maxrss of the worker process (MB)")
    head = (
        [f"{'run':<13}"]
        + [f"{s:>8}" for s in STEPS]
        + [f"{'total':>8}", f"{'rss_MB':>8}", f"{'raw_rows':>10}", f"{'mart_rows':>10}"]
    )
    print(" | ".join(head))
    print("-+-".join("-" * len(h) for h in head))
    for label, r in runs.items():
        print(row_line(label, r))
    print()
    for line in extra["lines"]:
        print(line)


# --------------------------------------------------------------------------- main


def _run_order(item: tuple[str, dict]) -> tuple[int, str]:
    label = item[0]
    return int(label.split()[0]), label


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="45,1000,10000", help="Comma-separated trial sizes.")
    parser.add_argument("--seed", type=int, default=20140127)
    parser.add_argument("--deliveries", type=int, default=12)
    parser.add_argument(
        "--overhead-size", type=int, default=1000, help="Size for the orchestration-overhead run."
    )
    parser.add_argument(
        "--skip",
        default="",
        help="Comma-separated: incremental,overhead,copy,sizes (sizes: no nightly per size; "
        "with --merge the stored per-size runs are reused; "
        "--skip sizes,incremental,overhead measures only the ingestion line)",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the bench warehouses.")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="Add to the runs saved by earlier invocations (out/bench/results.json) "
        "and print the table over all of them (same code and data only).",
    )
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--landing", help=argparse.SUPPRESS)
    parser.add_argument("--pre-landing", help=argparse.SUPPRESS)
    parser.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    from cfz_platform.config import apply_runtime_env

    apply_runtime_env()
    if args.worker:
        result = WORKERS[args.worker](args)
        print(MARK + json.dumps(result), flush=True)
        return 0

    sizes = sorted(int(s) for s in args.sizes.split(",") if s.strip())
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    CACHE.mkdir(parents=True, exist_ok=True)
    meta = {
        "when": datetime.now().strftime("%Y-%m-%d %H:%M"),
        "seed": args.seed,
        "deliveries": args.deliveries,
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
    landings = {n: ensure_landing(n, args.seed, args.deliveries) for n in sizes}
    dbs: list[str] = []
    saved = CACHE / "results.json"
    stored = (
        json.loads(saved.read_text())
        if args.merge and saved.exists()
        else {"runs": {}, "lines": {}}
    )
    runs: dict[str, dict] = stored["runs"]
    lines: list[str] = []
    if "sizes" in skip:
        needs = [
            (what, n)
            for what, n in (("incremental", sizes[-1]), ("overhead", args.overhead_size))
            if what not in skip and (what != "overhead" or n in sizes) and str(n) not in runs
        ]
        if needs:
            raise SystemExit(
                f"error: {needs[0][0]} compares with the {needs[0][1]}-subject nightly, which "
                "--skip sizes leaves out: add it to --skip, or --merge with a stored run"
            )
    try:
        for n in sizes:
            if "sizes" in skip:  # no nightly per size (--merge: the stored runs are reused)
                continue
            db = f"bench_{n}"
            dbs.append(db)
            runs[f"{n}"] = run_worker("nightly", db, landings[n])
        all_sizes = sorted(int(k) for k in runs if k.isdigit())
        for a, b in zip(all_sizes, all_sizes[1:], strict=False):
            ratio = runs[str(b)]["total"] / runs[str(a)]["total"]
            target = f"  (target <= {SCALING_TARGETS[(a, b)]})" if (a, b) in SCALING_TARGETS else ""
            lines.append(
                f"scaling      time({b})/time({a}) = {runs[str(b)]['total']:.1f}/{runs[str(a)]['total']:.1f} "
                f"= {ratio:.2f}{target}"
            )
        if 45 in all_sizes and 1000 in all_sizes:
            # issue 18: the 45-subject nightly is what the study runs; its fixed costs, not data
            ratio = runs["45"]["total"] / runs["1000"]["total"]
            lines.append(
                f"fixed cost   time(45)/time(1000) = {runs['45']['total']:.1f}/{runs['1000']['total']:.1f} "
                f"= {ratio:.2f}  (target <= 0.3)"
            )
        big = sizes[-1]
        if "incremental" not in skip:
            db = f"bench_{big}_inc"
            dbs.append(db)
            # steady state: two unmeasured nightlies (all but the last two deliveries, then the
            # next one) leave a published build and a previous one, as every later night finds
            pre = [partial_landing(landings[big], 2), partial_landing(landings[big], 1)]
            inc = run_worker("nightly", db, landings[big], pre_landings=pre)
            runs[f"{big} +1 deliv"] = inc
            full = runs[str(big)]["total"]
            lines.append(
                f"incremental  {big}: one new delivery {inc['total']:.1f} s vs full rebuild (fresh warehouse) "
                f"{full:.1f} s = {inc['total'] / full:.2f}{_target(INCREMENTAL_TARGETS, big, '<=')}"
            )
        if "overhead" not in skip and args.overhead_size in sizes:
            n = args.overhead_size
            db = f"bench_{n}_direct"
            dbs.append(db)
            direct = run_worker("direct", db, landings[n])
            runs[f"{n} direct"] = direct
            lines.append(
                f"orchestration {n}: Prefect nightly {runs[str(n)]['total']:.1f} s vs direct step calls "
                f"{direct['total']:.1f} s = {runs[str(n)]['total'] / direct['total']:.2f}  (target <= 1.3)"
            )
        if "copy" not in skip:
            db = f"bench_{big}_copy"
            dbs.append(db)
            c = run_worker("copy", db, landings[big])
            secs = lambda xs: "/".join(f"{x:.1f}" for x in xs)  # noqa: E731
            lines.append(
                f"ingestion    {big}: run_ingest {c['ingest_rows']:,} rows in {secs(c['ingest_seconds'])} s "
                f"= {c['ingest_rate']:,.0f} rows/s vs psql \\copy {c['copy_rows']:,} rows ({c['files']} files) "
                f"in {secs(c['copy_seconds'])} s = {c['copy_rate']:,.0f} rows/s (order COPY, ingest, ingest, "
                f"COPY; mean rates): ratio {c['ingest_rate'] / c['copy_rate']:.2f}{_target(COPY_TARGETS, big, '>=')}"
            )
    finally:
        if not args.keep:
            from cfz_platform.db import warehouse

            for db in dbs:
                warehouse.drop_database(db)
    meta["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    kinds = ("scaling", "fixed", "incremental", "orchestration", "ingestion")
    kept = dict(stored["lines"])
    for ln in lines:
        kept[f"{ln.split()[0]}:{ln.split()[1]}" if ln.startswith("scaling") else ln.split()[0]] = ln
    merged = [v for k in kinds for key, v in sorted(kept.items()) if key.startswith(k)]
    saved.write_text(json.dumps({"runs": runs, "lines": kept}, indent=1))
    print_table(meta, dict(sorted(runs.items(), key=_run_order)), {"lines": merged})
    return 0


if __name__ == "__main__":
    sys.exit(main())
