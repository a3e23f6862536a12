"""Benchmark: ``cfz ingest`` against its peers on the same 1,000-subject landing (issue 29).

Steps:
1. the landing: ``bench/nightly.py``'s simulated trial (``--subjects``, seed, 12 deliveries),
   simulated once and cached under ``out/bench/n<size>_s<seed>/``; copies of its CSVs with the
   structurally broken lines removed (``nightly.clean_copies``, untimed) for the peers, which
   would stop at such a line (``cfz ingest`` reads the original files and rejects those lines
   with their line numbers);
2. the project's modules compiled to bytecode, as ``make setup`` leaves them (where
   ``PYTHONDONTWRITEBYTECODE`` is set, a module edited since would otherwise be compiled
   again by every ``cfz`` process); dlt's own virtual environment ``.cfz/bench-dlt``
   (``uv venv``, then ``uv pip install dlt[postgres] adbc-driver-postgresql pyarrow``
   compiled to bytecode), made once and reused: dlt never enters the project's dependencies;
3. ``--rounds`` rounds (default 3), each timing three whole processes as subprocesses, in an
   order rotated per round (no side always runs first or on the warmest cache), each into a
   fresh warehouse database of the same embedded cluster (dropped and created untimed):
   - ``cfz``: ``cfz ingest --landing L`` (no Prefect: the command runs the ingestion in its
     own process; hashing, checks, rejects, lineage, row hash, ledger, analyze);
   - ``dlt``: ``bench/peers_dlt.py`` in dlt's environment: pyarrow's CSV reader, one arrow
     resource per domain, parquet loaded through ADBC (dlt's fastest documented route to
     PostgreSQL);
   - ``copy``: one ``psql`` session running ``\\copy`` of every cleaned file into bare text
     tables created beforehand (untimed): the floor;
   the rows each left in its schema are counted afterwards (untimed);
4. print the rounds, the medians and the ratios of the medians; the last line is
   ``cfz/dlt ratio X.XX`` (issue 29's target: <= 0.5).

Run: ``.venv/bin/python bench/peers.py [--rounds 3] [--subjects 1000] [--keep]`` (the embedded
cluster must be running: ``uv run cfz db start``; the first run also installs dlt's environment).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import nightly  # bench/nightly.py (this folder is on sys.path when run as a script)

ROOT = nightly.ROOT
DLT_ENV = ROOT / ".cfz" / "bench-dlt"
DLT_PACKAGES = ("dlt[postgres]", "adbc-driver-postgresql", "pyarrow")
SIDES = ("cfz", "dlt", "copy")
LABELS = {"cfz": "cfz ingest", "dlt": "dlt arrow+ADBC", "copy": "psql \\copy"}
#: Each side's warehouse database and the schema its rows land in.
TARGETS = {
    "cfz": ("bench_peers_cfz", "raw"),
    "dlt": ("bench_peers_dlt", "bench_dlt"),
    "copy": ("bench_peers_copy", "bench_plain"),
}
TARGET_RATIO = 0.5


def ensure_dlt_env() -> Path:
    """dlt's own virtual environment (made once); its Python."""
    python = DLT_ENV / "bin" / "python"
    marker = DLT_ENV / ".complete"
    if marker.exists():
        return python
    t0 = time.perf_counter()
    subprocess.run(["uv", "venv", "--quiet", "--python", sys.executable, str(DLT_ENV)], check=True)
    subprocess.run(
        ["uv", "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python)]
        + list(DLT_PACKAGES),
        check=True,
    )
    marker.write_text(f"{time.perf_counter() - t0:.1f}\n")
    print(f"[bench] dlt environment {DLT_ENV} in {time.perf_counter() - t0:.0f} s", flush=True)
    return python


def _fresh(db: str) -> str:
    """Drop and create warehouse ``db``; its owner URL."""
    from cfz_platform.db import warehouse

    warehouse.drop_database(db)
    warehouse.ensure_warehouse(db)
    return warehouse.settings(db).url()


def _rows_in(url: str, schema: str) -> int:
    """Rows in the base tables of ``schema`` (dlt's own bookkeeping tables left out)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(url, autocommit=True) as conn:
        tables = conn.execute(
            "select table_name from information_schema.tables where table_schema = %s "
            "and table_type = 'BASE TABLE' and table_name not like '\\_dlt\\_%%'",
            (schema,),
        ).fetchall()
        return sum(
            conn.execute(
                sql.SQL("select count(*) from {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(t)
                )
            ).fetchone()[0]
            for (t,) in tables
        )


def _timed(cmd: list[str], env: dict[str, str], log: Path) -> float:
    """Wall seconds of the whole process ``cmd`` (its output in ``log``; exit on failure)."""
    t0 = time.perf_counter()
    with open(log, "w") as fh:
        proc = subprocess.run(cmd, env=env, cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"[bench] {' '.join(cmd[:3])} failed (exit {proc.returncode}); see {log}")
    return seconds


def run_cfz(landing: Path) -> tuple[float, int]:
    db, schema = TARGETS["cfz"]
    url = _fresh(db)
    env = {**os.environ, "CFZ_WAREHOUSE_DB": db}
    cfz = str(Path(sys.executable).with_name("cfz"))
    seconds = _timed(
        [cfz, "ingest", "--landing", str(landing)], env, nightly.CACHE / "peers_cfz.log"
    )
    return seconds, _rows_in(url, schema)


def run_dlt(python: Path, file_list: Path) -> tuple[float, int]:
    db, schema = TARGETS["dlt"]
    url = _fresh(db)
    pipelines = nightly.CACHE / "peers_dlt_pipelines"
    shutil.rmtree(pipelines, ignore_errors=True)
    env = {**os.environ, "BENCH_DLT_URL": url, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    script = Path(__file__).with_name("peers_dlt.py")
    cmd = [str(python), str(script), str(pipelines), str(file_list)]
    seconds = _timed(cmd, env, nightly.CACHE / "peers_dlt.log")
    return seconds, _rows_in(url, schema)


def run_copy(files: list[tuple[str, Path, list[str]]]) -> tuple[float, int]:
    db, schema = TARGETS["copy"]
    url = _fresh(db)
    domains: dict[str, list[str]] = {}
    for domain, _, header in files:
        cols = domains.setdefault(domain, [])
        cols += [h.lower() for h in header if h.lower() not in cols]
    setup = [f"create schema {schema};"] + [
        f"create table {schema}.{d} ({', '.join(f'{c} text' for c in cols)});"
        for d, cols in domains.items()
    ]
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-c", "\n".join(setup)], check=True)
    script = nightly.CACHE / "peers_copy.sql"
    script.write_text(
        "".join(
            f"\\copy {schema}.{d} ({', '.join(h.lower() for h in header)}) from '{path}' csv header\n"
            for d, path, header in files
        )
    )
    cmd = ["psql", url, "-v", "ON_ERROR_STOP=1", "-q", "-f", str(script)]
    seconds = _timed(cmd, dict(os.environ), nightly.CACHE / "peers_copy.log")
    return seconds, _rows_in(url, schema)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--subjects", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20140127)
    parser.add_argument("--deliveries", type=int, default=12)
    parser.add_argument("--keep", action="store_true", help="Keep the bench warehouses.")
    args = parser.parse_args()

    from cfz_platform.config import apply_runtime_env

    apply_runtime_env()
    nightly.CACHE.mkdir(parents=True, exist_ok=True)
    landing = nightly.ensure_landing(args.subjects, args.seed, args.deliveries)
    files = nightly.clean_copies(landing)
    file_list = nightly.CACHE / "peers_files.txt"
    file_list.write_text("".join(f"{path}\n" for _, path, _ in files))
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(ROOT / "src"), str(ROOT / "flows")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    python = ensure_dlt_env()
    dlt_version = subprocess.run(
        [str(python), "-c", "import dlt; print(dlt.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()

    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    started = datetime.now()
    seconds: dict[str, list[float]] = {s: [] for s in SIDES}
    rows: dict[str, int] = {}
    orders = []
    for k in range(args.rounds):
        order = SIDES[k % len(SIDES) :] + SIDES[: k % len(SIDES)]
        orders.append(order)
        for side in order:
            s, n = {
                "cfz": lambda: run_cfz(landing),
                "dlt": lambda: run_dlt(python, file_list),
                "copy": lambda: run_copy(files),
            }[side]()
            seconds[side].append(s)
            rows[side] = n
            print(f"[bench] round {k + 1} {LABELS[side]}: {s:.2f} s, {n:,} rows", flush=True)
    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if not args.keep:
        from cfz_platform.db import warehouse

        for db, _ in TARGETS.values():
            warehouse.drop_database(db)

    med = {s: statistics.median(v) for s, v in seconds.items()}
    print(
        f"\ncfz peers bench  {started:%Y-%m-%d %H:%M}  seed {args.seed}  subjects {args.subjects}  "
        f"files {len(files)}  rounds {args.rounds}  dlt {dlt_version}  load avg before "
        f"{load_before}  after {load_after}  cores {os.cpu_count()}"
    )
    print("whole-process wall seconds, each side on a fresh warehouse database of one cluster")
    print(f"{'round':<7}| " + " | ".join(f"{LABELS[s]:>15}" for s in SIDES) + " | order")
    print("-" * 7 + "+" + "+".join("-" * 17 for _ in SIDES) + "+------")
    for k in range(args.rounds):
        cells = " | ".join(f"{seconds[s][k]:>15.2f}" for s in SIDES)
        print(f"{k + 1:<7}| {cells} | {','.join(orders[k])}")
    print(f"{'median':<7}| " + " | ".join(f"{med[s]:>15.2f}" for s in SIDES) + " |")
    print(f"{'rows':<7}| " + " | ".join(f"{rows[s]:>15,}" for s in SIDES) + " |")
    print(f"cfz/copy ratio {med['cfz'] / med['copy']:.2f}")
    print(f"dlt/copy ratio {med['dlt'] / med['copy']:.2f}")
    print(f"cfz/dlt ratio {med['cfz'] / med['dlt']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
