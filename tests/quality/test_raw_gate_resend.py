"""Issue 24, item 5: the raw gate checks every row that will be current in the build it gates.

D1 carries a serum M-protein of 900 g/dL (the gate blocks it); D2 corrects it (the gate
passes and moves its watermark past D2). Then D2's file is re-sent (same path, new bytes)
without that record: the re-send supersedes the older D2 file whole, so D1's 900 is current
again. The gate used to check only the rows loaded since its last pass (the re-sent file),
passed, and `bi_reader` saw 900 in `marts.fct_lab_results` and `adam.adlb`. Real ingestion,
real GX gate, real PostgreSQL; the gate runs as `cfz transform` runs it (`pipeline.gate` at
the build's upper watermark, recording its pass).
"""

from __future__ import annotations

from cfz_platform.db import warehouse
from cfz_platform.ingest import run_ingest
from cfz_platform.transform import build_state, pipeline
from tests.ingest.helpers import DM_HEADER, LB_HEADER, csv_text, write

SUBJECT = "CFZ-001"


def _mprotein(value: float, lbdtc: str) -> str:
    return f"CFZ,LB,{SUBJECT},MPROTEIN,SERUM,{value},g/dL,{lbdtc},C1D1"


def _gate(run_id: str):
    with warehouse.connect(autocommit=True) as conn:
        through = build_state.loaded_through(conn)
    return pipeline.gate("raw", run_id, through_file_id=through)


def _blocking(report) -> list[str]:
    return [r.check for r in report.blocking_failures]


def test_a_blocked_value_that_a_resend_makes_current_again_is_blocked_again(db, gx_dir, tmp_path):
    landing = tmp_path / "landing"
    write(
        landing,
        "20260110T020000",
        "dm.csv",
        csv_text(DM_HEADER, [f"CFZ,DM,{SUBJECT},01,A,2026-01-05,61,F"]),
    )
    write(
        landing,
        "20260110T020000",
        "lb.csv",
        csv_text(LB_HEADER, [_mprotein(900, "2026-01-06"), _mprotein(2.5, "2026-01-07")]),
    )
    run_ingest(landing)
    assert _blocking(_gate("d1")) == ["lab_value_physically_possible"]

    # D2 corrects the value: the gate passes and its watermark moves past D2
    d2 = csv_text(LB_HEADER, [_mprotein(3.1, "2026-01-06")])
    write(landing, "20260120T020000", "lb.csv", d2)
    run_ingest(landing)
    assert _blocking(_gate("d2")) == []

    # D2 re-sent without that record (another result instead): D1's 900 is current again
    write(landing, "20260120T020000", "lb.csv", csv_text(LB_HEADER, [_mprotein(2.9, "2026-01-08")]))
    summary = run_ingest(landing)
    assert [f.status for f in summary.files if f.rel_path.endswith("20T020000/lb.csv")] == [
        "loaded"
    ]
    current = db.execute(
        "select b.lborres, b._delivery_id from quality_batch.lb b where b.lbdtc = '2026-01-06'"
    ).fetchall()
    report = _gate("resent")

    assert _blocking(report) == ["lab_value_physically_possible"], report.explain()
    failing = next(r for r in report.blocking_failures)
    assert "20260110T020000" in str(failing.sample), failing.sample
    assert current == [("3.1", "20260120T020000")]  # what the previous (passing) gate saw


def test_the_raw_gate_plans_with_statistics_of_the_rows_just_loaded(db, gx_dir, tmp_path):
    """The ingestion does not analyse; the raw gate (as ``cfz transform`` runs it) refreshes
    the statistics of the raw tables that received rows before it reads them, so neither it
    nor the dbt build after it plans "the new files' rows" as one row."""
    landing = tmp_path / "landing"
    write(
        landing,
        "20260301T020000",
        "lb.csv",
        csv_text(LB_HEADER, [_mprotein(2.0 + i / 10, f"2026-03-{i + 1:02d}") for i in range(20)]),
    )
    run_ingest(landing)

    def planner_rows() -> tuple[float, int]:
        return db.execute(
            "select c.reltuples, (select count(*) from raw.lb) from pg_class c "
            "where c.oid = 'raw.lb'::regclass"
        ).fetchone()

    reltuples, rows = planner_rows()
    assert reltuples != rows  # loaded, not analysed since: the planner's count is stale
    _gate("stats")
    reltuples, rows = planner_rows()
    assert reltuples == rows
