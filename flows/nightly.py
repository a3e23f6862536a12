"""Prefect flow ``nightly``: ingest -> freshness -> raw gate -> dbt -> mart gate -> publish -> train -> score -> report.

Thin by design: each task calls one function of ``cfz_platform.orchestration.steps``.

- Transient database errors (lost connections, deadlocks) are retried; data errors
  (quality gate failures, dbt failures, bad input) are not.
- The warehouse lock (``orchestration.lock``: shared with transform, validate, train, score)
  keeps two writers off one warehouse; the second waits up to ``wait_for_lock_seconds`` and
  then stops with a message naming the running one. The ingest step also takes the ingest
  lock (a concurrent ``cfz ingest`` takes turns with it).
- The raw gate and the dbt build read raw up to one upper watermark, fixed before the gate:
  files an overlapping ingest loads wait for the next run.
- With no new delivery, nothing loaded that ``marts`` lacks and no response data training
  has not seen (all read from the warehouse, so a rerun after a killed run catches up), and
  a previous completed run, the flow is a quick no-op that says so.
- Source freshness (``dbt source freshness`` on raw) starts after the ingest in a background
  process, beside the raw gate and the dbt build, and is collected after the build (or at
  once on a no-op night, or when a step fails): a feed silent for longer than
  ``feed_stale_after_days`` is a warning in the summary (step ``freshness`` and the "stale
  feeds" table), never a failure.
- The final state is Completed, or Failed naming the step and the reason. A summary is
  printed, kept in ``audit.nightly_runs`` and published as Prefect artifacts.
- A failed or crashed run posts a JSON message to the alert webhook (state hooks,
  ``cfz_platform.orchestration.alerts``); a Prefect API that stops answering is named as the
  cause before the next step (``orchestration.failures``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run

from cfz_platform.db import warehouse
from cfz_platform.orchestration import alerts, failures, steps
from cfz_platform.orchestration.lock import WAREHOUSE, warehouse_lock
from cfz_platform.orchestration.run_logging import prepare_flow_process
from cfz_platform.orchestration.summary import RunSummary, StepResult, record_run

# a worker-started run logs like a `cfz` one (orchestration/run_logging.py)
prepare_flow_process()

log = logging.getLogger("cfz.nightly")


class NightlyFailed(RuntimeError):
    """The nightly run failed; the message names the step and the reason."""


def _retry_transient(task, task_run, state) -> bool:  # noqa: ARG001 - Prefect's signature
    exc = state.result(raise_on_failure=False)
    return isinstance(exc, BaseException) and steps.is_transient(exc)


_RETRY = {"retries": 2, "retry_delay_seconds": 5, "retry_condition_fn": _retry_transient}


@task(name="ingest", **_RETRY)
def ingest_task(landing: str, run_id: str, wait_seconds: float = 0.0) -> steps.IngestOutcome:
    return steps.step_ingest(Path(landing), run_id=run_id, wait_seconds=wait_seconds)


@task(name="raw_gate", **_RETRY)
def raw_gate_task(run_id: str) -> tuple[StepResult, int]:
    return steps.step_raw_gate(run_id)


@task(name="freshness")
def freshness_task(run_id: str) -> tuple[StepResult, list[dict]]:
    return steps.step_freshness(run_id)


@task(name="dbt", **_RETRY)
def dbt_task(through_file_id: int) -> tuple[StepResult, str, list[str]]:
    return steps.step_build(through_file_id=through_file_id)


@task(name="mart_gate", **_RETRY)
def mart_gate_task(run_id: str, candidate: str) -> StepResult:
    return steps.step_gate("mart", run_id, marts_schema=candidate)


@task(name="publish", **_RETRY)
def publish_task() -> StepResult:
    return steps.step_publish()


@task(name="train", **_RETRY)
def train_task(skip_if_unchanged: bool = True) -> StepResult:
    return steps.step_train(skip_if_unchanged)


@task(name="score", **_RETRY)
def score_task() -> StepResult:
    return steps.step_score()


@task(name="report", **_RETRY)
def report_task(report_dir: str) -> tuple[StepResult, Path]:
    return steps.step_report(Path(report_dir))


def _previous_completed_run() -> str | None:
    with warehouse.connect(autocommit=True) as conn:
        exists = conn.execute("select to_regclass('audit.nightly_runs') is not null").fetchone()[0]
        published = conn.execute("select to_regclass('marts.dim_subject') is not null").fetchone()[
            0
        ]
        if not exists or not published:
            return None
        row = conn.execute(
            "select run_id from audit.nightly_runs where outcome in ('completed', 'no-op') "
            "order by started_at desc limit 1"
        ).fetchone()
    return row[0] if row else None


def _finish(summary: RunSummary) -> None:
    from datetime import UTC, datetime

    summary.finished_at = datetime.now(UTC)
    with warehouse.connect(autocommit=True) as conn:
        record_run(conn, summary)
        if summary.outcome == "completed":
            summary.tables.update(steps.headline_tables(conn, summary.run_id))
    try:
        failures.check_prefect_api()  # a lost API: say so at once, not after a minute per artifact
    except failures.PrefectApiLost as exc:
        log.warning("the run summary artifacts were not published: %s", exc)
        return
    try:
        create_markdown_artifact(
            key="nightly-summary",
            markdown=summary.render_markdown(),
            description=f"nightly {summary.outcome}",
        )
        steps_table = [
            {
                "step": s.name,
                "status": s.status,
                "seconds": round(s.seconds, 2),
                "detail": s.message,
            }
            for s in summary.steps
        ]
        create_table_artifact(key="nightly-steps", table=steps_table, description="nightly steps")
        for title, rows in summary.tables.items():
            if rows:
                key = "nightly-" + "".join(c if c.isalnum() else "-" for c in title.lower())[
                    :40
                ].strip("-")
                create_table_artifact(
                    key=key,
                    table=[{k: str(v) for k, v in r.items()} for r in rows],
                    description=title,
                )
    except Exception as exc:  # noqa: BLE001 - artifacts are a view, never the verdict
        log.warning("could not publish the run summary artifacts: %s", exc)


def _collect_freshness(summary: RunSummary) -> None:
    """Add the background source-freshness check's step and "stale feeds" table (once:
    collecting it ends the check, ``steps.freshness_started`` is then false)."""
    if not steps.freshness_started(summary.run_id):
        return
    freshness, stale_feeds = freshness_task(summary.run_id)
    # listed where it starts, right after the ingest (the summary keeps the steps' order)
    after = next((i + 1 for i, s in enumerate(summary.steps) if s.name == "ingest"), 0)
    summary.steps.insert(after, freshness)
    summary.tables["stale feeds"] = stale_feeds
    if freshness.status != "completed":
        log.warning("      source freshness: %s", freshness.message)


def run_nightly_steps(
    summary: RunSummary,
    landing: str,
    report_dir: str,
    train: bool | None,
    force: bool,
    wait_seconds: float = 0.0,
) -> None:
    """Run the steps in order, appending each result to ``summary`` (raises on failure).

    Whether there is work is read from the warehouse (``steps.build_pending``,
    ``steps.training_pending``), not from what this run loaded: the rerun of a run killed
    after its ingest builds, publishes and trains what that run loaded."""
    run_id = summary.run_id
    current = "ingest"
    try:
        log.info("[1/8] ingest: reading new deliveries under %s", landing)
        ingested = ingest_task(landing, run_id, wait_seconds)
        summary.steps.append(ingested.result)
        summary.tables["files loaded this run"] = [
            r for r in ingested.table_rows if r.get("status") != "skipped_duplicate"
        ]
        log.info("      %s", ingested.result.message)
        steps.start_freshness(run_id)
        previous = _previous_completed_run()
        waiting = steps.build_pending()
        train_waiting = train is None and steps.training_pending()
        if (
            ingested.files_loaded == 0
            and not waiting
            and not train_waiting
            and previous
            and not force
        ):
            _collect_freshness(summary)
            summary.outcome = "no-op"
            summary.steps.append(
                StepResult("transform", "skipped", message=f"no new delivery since run {previous}")
            )
            log.info(
                "no new delivery since run %s: nothing to do (use --force to rebuild anyway)",
                previous,
            )
            return
        current = "raw_gate"
        # before each step: a lost Prefect API is named at once, not a minute into a step
        failures.check_prefect_api()
        log.info("[2/8] raw gate (Great Expectations on the raw layer)")
        gate_result, through = raw_gate_task(run_id)
        summary.steps.append(gate_result)
        current = "dbt"
        failures.check_prefect_api()
        log.info("[3/8] dbt build into the candidate schema (raw through file %d)", through)
        build_result, candidate, notes = dbt_task(through)
        summary.steps.append(build_result)
        for note in notes:
            log.info("      note: %s", note)
        _collect_freshness(summary)
        current = "mart_gate"
        failures.check_prefect_api()
        log.info("[4/8] mart gate on %s", candidate)
        summary.steps.append(mart_gate_task(run_id, candidate))
        current = "publish"
        failures.check_prefect_api()
        log.info("[5/8] publish")
        summary.steps.append(publish_task())
        current = "train"
        failures.check_prefect_api()
        should_train = steps.training_pending() if train is None else train
        if should_train:
            log.info("[6/8] train the early-response model")
            summary.steps.append(train_task(skip_if_unchanged=train is None))
        else:
            summary.steps.append(
                StepResult("train", "skipped", message="no response data since the last training")
            )
        current = "score"
        failures.check_prefect_api()
        log.info("[7/8] score with the champion model")
        summary.steps.append(score_task())
        current = "report"
        failures.check_prefect_api()
        log.info("[8/8] report")
        report_result, path = report_task(report_dir)
        summary.steps.append(report_result)
        summary.outcome = "completed"
    except Exception as exc:
        if failures.is_api_lost(exc):
            steps.stop_freshness(run_id)  # say why at once, not after the check's minute
        else:
            _collect_freshness(summary)
        summary.outcome = "failed"
        summary.failed_step = current
        cause = failures.compute_known_cause(exc)  # the Prefect API gone, a refused password
        summary.reason = cause or (
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        )
        summary.steps.append(StepResult(current, "failed", message=summary.reason))
        raise NightlyFailed(f"nightly failed at step '{current}': {cause or exc}") from exc


@flow(
    name="nightly",
    # a failed or crashed run posts to the alert webhook (cfz alerts set-webhook URL)
    on_failure=[alerts.notify_failure],
    on_crashed=[alerts.notify_failure],
)
def nightly(
    landing: str = "out/landing",
    report_dir: str = "out/report",
    train: bool | None = None,
    force: bool = False,
    wait_for_lock_seconds: float = 0.0,
) -> dict:
    """The nightly run. ``train=None`` trains only when published lab, response or DM data
    arrived since the last training step completed, and the training data or model spec
    changed since the newest registered version."""
    run_id = str(flow_run.get_id() or "") or __import__("uuid").uuid4().hex
    summary = RunSummary(run_id=run_id, landing=landing)
    with warehouse_lock(WAREHOUSE, wait_seconds=wait_for_lock_seconds, holder="nightly"):
        try:
            run_nightly_steps(summary, landing, report_dir, train, force, wait_for_lock_seconds)
        except NightlyFailed as exc:
            if failures.is_api_lost(exc):  # Prefect can run no state hook: alert from here
                alerts.notify_failure_without_prefect(
                    "nightly",
                    str(flow_run.get_name() or ""),
                    run_id,
                    summary.failed_step or "",
                    summary.reason or "",
                )
            raise
        finally:
            _finish(summary)
            print(summary.render_text())  # noqa: T201 - the run's summary for the terminal/log
    return {
        "run_id": summary.run_id,
        "outcome": summary.outcome,
        "steps": {
            s.name: {"status": s.status, "seconds": s.seconds, "message": s.message}
            for s in summary.steps
        },
    }
