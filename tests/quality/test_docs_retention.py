"""GX results and Data Docs pages on disk are kept for the newest gate runs only (the durable
record is audit.quality_results): the docs index, which reads every stored result, no longer
grows with every night."""

from __future__ import annotations

import os
from pathlib import Path

from cfz_platform.quality.runner import prune_validation_results


def _result(base: Path, gate: str, table: str, run: str, mtime: float) -> Path:
    stamp = "20261129T010000.000000Z"
    f = base / "uncommitted" / "validations" / gate / table / run / stamp / f"wh-{table}.json"
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text("{}")
    os.utime(f, (mtime, mtime))
    page = base / "uncommitted" / "data_docs" / "local_site" / "validations" / gate / table / run
    page.mkdir(parents=True, exist_ok=True)
    (page / "index.html").write_text("<html></html>")
    return f


def test_only_the_newest_runs_of_each_gate_keep_their_results_and_pages(tmp_path):
    base = tmp_path / "gx"
    for i in range(5):  # five nights of the raw gate (2 tables) and of the mart gate (1 table)
        for table in ("lb", "dm"):
            _result(base, "raw_gate", table, f"raw-night{i}", 1_000 + i)
        _result(base, "mart_gate", "dim_subject", f"mart-night{i}", 2_000 + i)

    removed = prune_validation_results(base, keep_runs=2)

    assert removed == 3 * 2 + 3  # three old raw nights x 2 tables, three old mart nights
    store = base / "uncommitted" / "validations"
    kept = sorted({p.relative_to(store).parts[2] for p in store.rglob("*.json")})
    assert kept == ["mart-night3", "mart-night4", "raw-night3", "raw-night4"]
    site = base / "uncommitted" / "data_docs" / "local_site" / "validations"
    pages = sorted({p.relative_to(site).parts[2] for p in site.rglob("index.html")})
    assert pages == kept
    assert prune_validation_results(base, keep_runs=2) == 0  # idempotent
