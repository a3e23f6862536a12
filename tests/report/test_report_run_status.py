"""The report says at its top when the latest nightly failed, and how old its data is.

The hand-built marts (tests/report/marts_fixture.py) stand for the last good build; the
nightly runs and the build's watermark are written as the nightly and the publish write them
(``summary.record_run``, ``audit.build_state``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cfz_platform.orchestration.summary import RunSummary, record_run
from cfz_platform.report import build_report
from cfz_platform.transform import build_state

BUILT = datetime(2026, 3, 1, 2, 40, tzinfo=UTC)


def _banner(html: str) -> str | None:
    if 'id="nightly-failed"' not in html:
        return None
    return html[html.index('id="nightly-failed"') : html.index("<h1>")]


def _run(db, run_id: str, started: datetime, outcome: str, step=None, reason=None) -> None:
    summary = RunSummary(run_id=run_id, landing="/landing", started_at=started)
    summary.finished_at = started + timedelta(minutes=3)
    summary.outcome, summary.failed_step, summary.reason = outcome, step, reason
    record_run(db, summary)


def test_a_failed_latest_nightly_is_said_at_the_top_with_the_last_good_build(
    report_marts, db, tmp_path
):
    build_state.ensure_table(db)
    db.execute(
        "insert into audit.build_state (schema_name, through_file_id, fingerprint, built_at) "
        "values ('marts', 3, 'f', %s)",
        (BUILT,),
    )
    _run(db, "run-good", BUILT, "completed")
    assert _banner(build_report(tmp_path / "ok").read_text()) is None

    _run(db, "run-bad", BUILT + timedelta(days=1), "failed", "mart_gate", "mart gate: FAILED (2)")
    banner = _banner(build_report(tmp_path / "failed").read_text())
    assert banner is not None and 'role="alert"' in banner
    assert (
        "The latest nightly run (run-bad, started 2026-03-02 02:40 UTC) failed at step "
        "&#39;mart_gate&#39;: mart gate: FAILED (2)" in banner
    )
    assert (
        "The data shown is as of the last good build: built 2026-03-01 02:40 UTC, "
        "raw through file 3 (20260301T020000/lb.csv)." in banner
    )

    _run(db, "run-next", BUILT + timedelta(days=2), "no-op")  # the next night went through
    assert _banner(build_report(tmp_path / "after").read_text()) is None
