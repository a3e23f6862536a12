"""`cfz ingest` pays only for what it uses (issue 29): no Prefect, dbt, GX, MLflow or pandas.

A command-line ingest used to run as a Prefect flow on the local server: importing Prefect and
the flow run's round trips were about 3 of its 5 seconds on a 1,000-subject landing. It now
loads in its own process (``--prefect`` keeps the flow run, tests/orchestration/
test_own_prefect_server.py). These tests run the real command in a subprocess under
``python -X importtime`` and read which top-level packages it imported; no timing is asserted.
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests.conftest import ROOT
from tests.ingest.helpers import LB_HEADER, csv_text, lb_rows, raw_count, rejects, write

#: Packages an ingest never needs: orchestration, transformation, gates, model, data frames.
UNNEEDED = ("prefect", "dbt", "great_expectations", "mlflow", "pandas", "sklearn", "pyreadstat")


def _cfz_importtime(*args: str) -> tuple[subprocess.CompletedProcess, set[str]]:
    """Run ``python -X importtime -m cfz_platform.cli ARGS``; the process and the top-level
    packages it imported (read from the importtime lines on stderr)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "cfz_platform.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    imported = {
        m.group(1).split(".")[0]
        for m in re.finditer(r"^import time:.*\|\s*([\w.]+)\s*$", proc.stderr, re.MULTILINE)
    }
    return proc, imported


def test_cfz_ingest_loads_a_delivery_without_importing_prefect_dbt_gx_or_mlflow(
    warehouse_db, db, tmp_path
):
    landing = tmp_path / "landing"
    d = "20260601T020000"
    rows = lb_rows(3)
    write(landing, d, "lb.csv", csv_text(LB_HEADER, [*rows, "CFZ,LB,CFZ-009,HGB"]))

    proc, imported = _cfz_importtime("ingest", "--landing", str(landing))

    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the whole ingestion happened: rows with lineage, the broken line rejected, the ledger row
    assert raw_count(db, "lb", f"{d}/lb.csv") == len(rows) == 9
    assert [(line, kind) for line, _, kind, _, _ in rejects(db, f"{d}/lb.csv")] == [
        (11, "wrong_field_count")
    ]
    assert db.execute(
        "select status, rows_read, rows_loaded, rows_rejected from audit.ingest_files "
        "where rel_path = %s",
        (f"{d}/lb.csv",),
    ).fetchall() == [("loaded", 10, 9, 1)]
    # the summary once on stdout, the per-file progress on stderr
    assert "files loaded 1, skipped 0, quarantined 0; rows read 10, loaded 9" in proc.stdout
    assert f"[1/1] {d}/lb.csv: loaded, read 10, loaded 9, rejected 1" in proc.stderr
    assert "files loaded 1" not in proc.stderr
    assert "psycopg" in imported and "numpy" in imported  # the loader's own imports were read
    assert imported.isdisjoint(UNNEEDED), sorted(imported & set(UNNEEDED))


def test_cfz_ingest_help_imports_nothing_heavy():
    proc, imported = _cfz_importtime("ingest", "--help")

    assert proc.returncode == 0 and "--landing" in proc.stdout, proc.stderr
    assert "--prefect" in proc.stdout
    assert imported.isdisjoint((*UNNEEDED, "psycopg", "numpy")), sorted(imported)
