"""Reconciliation against the simulator's ground truth (truth/errors.csv).

Every structural error the simulator injected is found in ``audit.ingest_rejects`` by
file + line (none is quarantined, no other row is rejected); every other data line is in raw,
including the rows with semantic problems, which staging flags later.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from cfz_platform.contract.domains import DOMAINS
from cfz_platform.ingest import run_ingest

simulate = pytest.importorskip("cfz_platform.simulate.trial")


def test_simulated_feeds_reconcile_with_the_injected_errors(db, tmp_path):
    from cfz_platform.simulate import params as P

    landing, truth = tmp_path / "landing", tmp_path / "truth"
    simulate.run_simulation(
        P.SimConfig(patients=12, deliveries=4, error_rate=0.05, mc_replicas=20), landing, truth
    )
    errors = list(csv.DictReader((truth / "errors.csv").read_text(encoding="utf-8").splitlines()))
    structural = {(e["file"], int(e["line"])) for e in errors if e["category"] == "structural"}
    semantic = {
        (e["file"], int(e["line"])) for e in errors if e["category"] == "semantic" and e["line"]
    }
    assert structural and semantic

    summary = run_ingest(landing)

    assert summary.files_quarantined == 0, summary.log_lines()
    rejected = {
        (p, line) for p, line in db.execute("select rel_path, line from audit.ingest_rejects")
    }
    assert rejected == structural
    loaded = {
        (f, line)
        for f, line in db.execute(  # every domain of the registry (DS and MH included)
            " union all ".join(f"select _file, _line from raw.{d}" for d in sorted(DOMAINS))
        )
    }
    assert semantic <= loaded
    every_line = set()
    for f in summary.files:
        n_lines = (Path(landing) / f.rel_path).read_bytes().count(b"\n")
        every_line |= {(f.rel_path, line) for line in range(2, n_lines + 1)}
        assert f.rows_read == n_lines - 1 == f.rows_loaded + f.rows_rejected
    assert loaded | rejected == every_line and not loaded & rejected


def test_two_loader_threads_load_exactly_what_one_does(warehouse_db, tmp_path, monkeypatch):
    """The same landing through one loader thread and through two: identical raw rows (every
    column but the file id and load time), ledger rows and rejects."""
    from cfz_platform.db import warehouse
    from cfz_platform.simulate import params as P

    landing = tmp_path / "landing"
    simulate.run_simulation(
        P.SimConfig(patients=12, deliveries=4, error_rate=0.05, mc_replicas=20),
        landing,
        tmp_path / "truth",
    )

    def load(db_name: str, workers: str) -> dict:
        monkeypatch.setenv("CFZ_WAREHOUSE_DB", db_name)
        monkeypatch.setenv("CFZ_INGEST_WORKERS", workers)
        summary = run_ingest(landing)
        assert summary.files_quarantined == 0
        with warehouse.connect(db_name, autocommit=True) as conn:
            out = {
                "files": sorted(
                    conn.execute(
                        "select rel_path, status, rows_read, rows_loaded, rows_rejected from audit.ingest_files"
                    ).fetchall()
                ),
                "rejects": sorted(
                    conn.execute(
                        "select rel_path, line, kind, coalesce(column_name, '') from audit.ingest_rejects"
                    ).fetchall()
                ),
            }
            for domain in ("dm", "lb", "ex", "cm", "ae", "rs", "vs"):
                out[domain] = conn.execute(
                    f"select count(*), md5(string_agg(md5((to_jsonb(r) - '_file_id' - '_loaded_at')::text), '' "
                    f"order by _file, _line)) from raw.{domain} r"
                ).fetchone()
        return out

    results = {}
    for workers in ("1", "2"):
        name = f"{warehouse_db}_w{workers}"[:60]
        warehouse.drop_database(name)
        warehouse.ensure_warehouse(name)
        try:
            results[workers] = load(name, workers)
        finally:
            warehouse.drop_database(name)
    sequential, parallel = results["1"], results["2"]
    assert parallel == sequential
    assert sequential["lb"][0] > 1000 and sequential["rejects"]
