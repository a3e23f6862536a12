"""Kill bench: SIGKILL an ingestion at every crash point of every file, rerun, check nothing is
lost or duplicated (issue 14's "tried / handled / crashed / lost" figures).

Steps:
1. build a landing of good and hostile files (a multi-chunk LB CSV with rejects, a good
   LB CSV.GZ, the CDISC pilot DM XPT, a ``ctid`` column, 1,700 columns, a corrupt gzip
   stream, a quoted field over 1,200 lines, a symbolic link out of the root, a FIFO);
2. reference: one clean ``run_ingest`` into a fresh warehouse gives, per file, its status
   and row counts;
3. for every crash point (``ingest.hooks``) and every file: the same files under a delivery
   id of its own in a landing root of its own (one scratch warehouse for all scenarios);
   ``run_ingest`` in a subprocess with ``CFZ_INGEST_CRASH_AT=<point>@<file>`` (two loader
   threads, tiny COPY batches and chunks so ``mid_copy`` fires), which must die by SIGKILL
   (or finish, when that file never reaches that point: "not reached"); then a clean rerun;
4. a scenario is handled when, after the rerun, every file has exactly one processed ledger
   version with the reference status and counts, its raw rows number ``rows_loaded`` (no
   duplicates, no orphans from the killed run) and its rejects ``rows_rejected``;
   "crashed" counts reruns that raised; "lost" counts rows missing or duplicated.

Run: ``.venv/bin/python bench/ingest_kill.py [--points mid_copy,before_commit] [--keep]``
(uses the scratch warehouse ``bench_kill`` on the embedded PostgreSQL, dropped at the end).
"""

from __future__ import annotations

import argparse
import gzip
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cfz_platform.config import apply_runtime_env  # noqa: E402
from cfz_platform.db import embedded, warehouse  # noqa: E402

POINTS = [
    "mid_read",
    "after_read",
    "before_copy",
    "mid_copy",
    "before_ledger",
    "before_rejects",
    "before_commit",
    "after_commit",
]
LB = "STUDYID,DOMAIN,USUBJID,LBTESTCD,LBSPEC,LBORRES,LBORRESU,LBDTC,VISIT"
CHILD = (
    "import sys; from pathlib import Path; from cfz_platform.ingest import run_ingest; "
    "run_ingest(Path(sys.argv[1]))"
)


def build_landing(root: Path, delivery: str) -> list[str]:
    """Write the landing (step 1) as one delivery; return the file names."""
    d = root / delivery
    d.mkdir(parents=True)
    rows = [f"CFZ,LB,CFZ-{i:04d},HGB,BLOOD,{10 + i % 5},g/dL,2026-03-02,C1D1" for i in range(6_000)]
    rows[100] = "CFZ,LB,,HGB,BLOOD,1,g/dL,2026-03-02,C1D1"  # empty key: a reject
    rows[200] = "CFZ,LB,CFZ-9,HGB,BLOOD,1,g/dL,2026-03-02"  # wrong width: a reject
    (d / "lb.csv").write_text("\n".join([LB, *rows]) + "\n")
    (d / "vs.csv.gz").write_bytes(
        gzip.compress(
            (
                "STUDYID,DOMAIN,USUBJID,VSTESTCD,VSORRES,VSORRESU,VSDTC\n"
                + "".join(f"CFZ,VS,CFZ-{i:03d},SYSBP,120,mmHg,2026-03-02\n" for i in range(500))
            ).encode()
        )
    )
    shared = Path(os.environ.get("CFZ_SHARED_DIR", ROOT.parent / "shared"))
    (d / "dm.xpt").write_bytes((shared / "conformance" / "cdiscpilot01" / "dm.xpt").read_bytes())
    (d / "cm.csv").write_text(
        "STUDYID,DOMAIN,USUBJID,CMTRT,CMSTDTC,ctid\nCFZ,CM,CFZ-001,DEX,2026-01-05,t\n"
    )
    (d / "ae.csv").write_text(
        ",".join(
            ["USUBJID", "AESPID", "AETERM", "AESTDTC", "AETOXGR"] + [f"X{i}" for i in range(1_700)]
        )
        + "\n"
    )
    good = gzip.compress(("\n".join([LB, *rows[:300]]) + "\n").encode())
    (d / "ex.csv.gz").write_bytes(good[:40] + bytes(b ^ 0x5A for b in good[40:120]) + good[120:])
    long_field = "\n".join(f"note {i}" for i in range(1_200))
    (d / "rs.csv").write_text(
        "STUDYID,DOMAIN,USUBJID,RSTESTCD,RSSTRESC,RSDTC\n"
        "CFZ,RS,CFZ-001,ECOG,1,2026-03-02\n"
        f'CFZ,RS,CFZ-002,ECOG,"{long_field}",2026-03-02\n'
        "CFZ,RS,CFZ-003,ECOG,0,2026-03-02\n"
    )
    outside = root.parent / "secret.csv"
    outside.write_text("root:x:0:0\n")
    (d / "mh.csv").symlink_to(outside)
    os.mkfifo(d / "qs.csv")
    return sorted(p.name for p in d.iterdir())


def state(conn, delivery: str) -> dict[str, tuple]:
    """Per file name: (processed versions, status, read, loaded, rejected, raw rows, reject rows)."""
    out: dict[str, tuple] = {}
    for rel, n, status, read, loaded, rejected, domain in conn.execute(
        "select rel_path, count(*) over (partition by rel_path), status, rows_read, rows_loaded, "
        "rows_rejected, domain from audit.ingest_files where delivery_id = %s and status <> 'skipped_duplicate'",
        (delivery,),
    ).fetchall():
        raw = 0
        if status == "loaded":
            raw = conn.execute(
                f'select count(*) from raw."{domain}" where _file = %s', (rel,)
            ).fetchone()[0]
        rej = conn.execute(
            "select count(*) from audit.ingest_rejects where rel_path = %s", (rel,)
        ).fetchone()[0]
        out[rel.split("/", 1)[-1]] = (n, status, read, loaded, rejected, raw, rej)
    # orphans: raw rows of this delivery whose file id the ledger does not hold as loaded
    for domain in ("lb", "vs", "dm", "cm", "ae", "ex", "rs"):
        orphans = conn.execute(
            f"select count(*) from raw.{domain} r where _delivery_id = %s and not exists (select 1 from "
            "audit.ingest_files f where f.file_id = r._file_id and f.status = 'loaded')",
            (delivery,),
        ).fetchone()[0]
        if orphans:
            out[f"orphans in raw.{domain}"] = (orphans,)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default=",".join(POINTS))
    parser.add_argument("--keep", action="store_true", help="keep the scratch warehouse")
    args = parser.parse_args()
    apply_runtime_env()
    embedded.start()
    name = "bench_kill"
    warehouse.drop_database(name)
    warehouse.ensure_warehouse(name)
    os.environ["CFZ_WAREHOUSE_DB"] = name
    from cfz_platform.ingest import run_ingest

    base = Path(tempfile.mkdtemp(prefix="cfz-kill-"))
    env = {**os.environ, "CFZ_INGEST_COPY_BATCH": "50", "CFZ_INGEST_CHUNK_BYTES": "4096"}
    os.environ.update({k: env[k] for k in ("CFZ_INGEST_COPY_BATCH", "CFZ_INGEST_CHUNK_BYTES")})
    counter = iter(range(1, 1_000_000))

    def scenario_landing() -> tuple[Path, str, list[str]]:
        k = next(counter)
        delivery = f"20250101T{k:06d}"
        root = base / f"s{k}" / "landing"
        return root, delivery, build_landing(root, delivery)

    with warehouse.connect(name, autocommit=True) as conn:
        root, delivery, files = scenario_landing()
        run_ingest(root)
        reference = state(conn, delivery)
        print(
            f"reference: {len(files)} files: "  # noqa: T201
            + ", ".join(f"{r} {v[1]} {v[3]}+{v[4]}" for r, v in sorted(reference.items()))
        )
        tried = handled = crashed = lost = not_reached = 0
        t0 = time.perf_counter()
        for point in args.points.split(","):
            for file_name in files:
                root, delivery, _ = scenario_landing()
                tried += 1
                proc = subprocess.run(
                    [sys.executable, "-c", CHILD, str(root)],
                    capture_output=True,
                    text=True,
                    env={**env, "CFZ_INGEST_CRASH_AT": f"{point}@{delivery}/{file_name}"},
                    timeout=600,
                )
                if proc.returncode != -signal.SIGKILL:
                    not_reached += 1
                try:
                    run_ingest(root)
                except Exception as exc:  # noqa: BLE001 - counted and shown
                    crashed += 1
                    print(f"CRASHED {point}@{file_name}: {type(exc).__name__}: {exc}")  # noqa: T201
                    continue
                got = state(conn, delivery)
                if got == reference:
                    handled += 1
                else:
                    keys = set(reference) | set(got)
                    diff = {
                        k: (reference.get(k), got.get(k))
                        for k in keys
                        if reference.get(k) != got.get(k)
                    }
                    lost += sum(
                        abs((r or (0,) * 7)[3] - (g or (0,) * 7)[5])
                        for r, g in diff.values()
                        if len(r or g) == 7
                    )
                    print(f"MISMATCH {point}@{file_name}: {diff}")  # noqa: T201
    if not args.keep:
        warehouse.drop_database(name)
    print(
        f"kill: tried {tried} (killed {tried - not_reached}, point not reached {not_reached}), "  # noqa: T201
        f"handled {handled}, crashed {crashed}, lost rows {lost}; {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
