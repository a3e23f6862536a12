"""The nightly run's steps as plain functions (no Prefect here).

``flows/nightly.py`` wraps each in a Prefect task; ``bench/nightly.py`` calls them directly
to measure orchestration overhead. Each returns a ``StepResult`` (status, message, figures)
plus whatever the next step needs, and raises on failure with a message that names the
problem.
"""

from __future__ import annotations

import logging
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import psycopg.rows

from cfz_platform.db import warehouse
from cfz_platform.orchestration.summary import StepResult

log = logging.getLogger(__name__)

#: The registered model the nightly trains (its training state is kept per model).
MODEL = "early_response"
# the order of a full nightly run
STEP_NAMES = (
    "ingest",
    "freshness",
    "raw_gate",
    "dbt",
    "mart_gate",
    "publish",
    "train",
    "score",
    "report",
)


class NightlyStepError(RuntimeError):
    """A step failed on data or configuration (never retried); the message says why."""


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: lost or refused database connections, deadlocks."""
    transient = (
        psycopg.OperationalError,
        psycopg.errors.SerializationFailure,
        psycopg.errors.DeadlockDetected,
        ConnectionError,
    )
    return isinstance(exc, transient) and not isinstance(exc, psycopg.errors.QueryCanceled)


@dataclass
class IngestOutcome:
    result: StepResult
    files_loaded: int
    new_response_data: bool
    table_rows: list[dict]


def _timed(name: str):
    start = time.perf_counter()
    return lambda status, message="", **figures: StepResult(
        name=name,
        status=status,
        seconds=time.perf_counter() - start,
        message=message,
        figures=figures,
    )


def _elapsed(name: str, seconds: float):
    """Like ``_timed``, for a step whose run time was measured elsewhere (a background check)."""
    return lambda status, message="", **figures: StepResult(
        name=name, status=status, seconds=seconds, message=message, figures=figures
    )


def step_ingest(
    landing: Path, run_id: str | None = None, wait_seconds: float = 0.0
) -> IngestOutcome:
    """Load new deliveries (holding the ingest lock); report what arrived and whether
    response data is among it."""
    from cfz_platform.ingest import run_ingest
    from cfz_platform.orchestration.lock import INGEST, warehouse_lock

    done = _timed("ingest")
    if not landing.is_dir():
        raise NightlyStepError(f"landing folder {landing} does not exist")
    with warehouse_lock(INGEST, wait_seconds=wait_seconds, holder="nightly-ingest"):
        summary = run_ingest(landing, run_id=run_id)
    loaded = [f for f in summary.files if f.status == "loaded"]
    quarantined = [f for f in summary.files if f.status == "quarantined"]
    rows = sum(f.rows_loaded for f in loaded)
    rejected = sum(f.rows_rejected for f in summary.files)
    response_domains = {"lb", "rs", "dm"}
    shown = ", ".join(summary.quarantined_paths()[:10]) + (" ..." if len(quarantined) > 10 else "")
    result = done(
        "completed",
        f"{len(loaded)} files loaded ({rows} rows), {len(quarantined)} quarantined"
        f"{f' ({shown})' if quarantined else ''}, {rejected} rows rejected, "
        f"{len(summary.files) - len(loaded) - len(quarantined)} already loaded",
        files_loaded=len(loaded),
        rows_loaded=rows,
        rows_rejected=rejected,
        files_quarantined=len(quarantined),
    )
    return IngestOutcome(
        result=result,
        files_loaded=len(loaded),
        new_response_data=any(f.domain in response_domains for f in loaded),
        table_rows=summary.table_rows(),
    )


def step_raw_gate(run_id: str) -> tuple[StepResult, int]:
    """Fix the build's upper watermark, then run the raw gate up to it; return both (the
    dbt step builds up to the same watermark)."""
    from cfz_platform.transform.pipeline import ensure_raw, fix_watermark

    ensure_raw()
    through = fix_watermark()
    return step_gate("raw", run_id, through_file_id=through), through


def step_gate(
    gate: str, run_id: str, marts_schema: str = "marts", through_file_id: int | None = None
) -> StepResult:
    """Run a quality gate; raise ``QualityGateFailed`` on a blocking failure."""
    from cfz_platform.quality import QualityGateFailed
    from cfz_platform.transform.pipeline import gate as run_gate

    done = _timed(f"{gate}_gate")
    report = run_gate(gate, run_id, marts_schema=marts_schema, through_file_id=through_file_id)
    if not report.passed:
        raise QualityGateFailed(report)
    return done(
        "completed",
        f"{len(report.results)} expectations passed blocking checks, {len(report.warnings)} warnings",
        expectations=len(report.results),
        warnings=len(report.warnings),
    )


#: Background source-freshness checks of running nightlies, by run id (``start_freshness``).
_FRESHNESS_CHECKS: dict[str, subprocess.Popen] = {}


def start_freshness(run_id: str) -> None:
    """Start the source-freshness check in a background process; ``step_freshness(run_id)``
    collects it. It only reads ``raw`` and has its own dbt target folder, so it runs beside
    the raw gate and the dbt build on a free core (its dbt start-up costs no wall time)."""
    from cfz_platform.transform.freshness import start_feed_freshness

    _FRESHNESS_CHECKS[run_id] = start_feed_freshness()


def stop_freshness(run_id: str) -> None:
    """End the background freshness check of ``run_id`` without waiting for its result (a
    run stopping on lost infrastructure reports that at once)."""
    proc = _FRESHNESS_CHECKS.pop(run_id, None)
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.communicate()


def freshness_started(run_id: str) -> bool:
    """True while a background freshness check of ``run_id`` waits to be collected."""
    return run_id in _FRESHNESS_CHECKS


def step_freshness(run_id: str | None = None) -> tuple[StepResult, list[dict]]:
    """Source freshness of the feeds (``dbt source freshness`` on raw): stale or empty feeds
    are a warning with a table for the summary, never a failure (EDC exports pause).

    Steps: the result of the background check started for ``run_id`` (``start_freshness``),
    else run the check here (``transform.freshness``); status ``completed`` when every feed is
    fresh, else ``warning`` naming them; a check that cannot run is a warning too. The step's
    seconds are the check's own run time (in the background they overlap other steps)."""
    from cfz_platform.transform.freshness import (
        collect_feed_freshness,
        compute_feed_freshness,
        stale_feed_warnings,
    )

    done = _timed("freshness")
    proc = _FRESHNESS_CHECKS.pop(run_id, None) if run_id else None
    try:
        if proc is not None:
            feeds, seconds = collect_feed_freshness(proc)
            done = _elapsed("freshness", seconds)
        else:
            feeds = compute_feed_freshness()
    except Exception as exc:  # noqa: BLE001 - freshness informs, it never stops the nightly
        return done("warning", f"could not check source freshness: {exc}"), []
    stale = stale_feed_warnings(feeds)
    rows = [
        {"feed": f"raw.{f.table}", "status": f.status, "newest row (days ago)": f.age_days}
        for f in feeds
        if f.status != "pass"
    ]
    if not stale:
        return done("completed", f"{len(feeds)} feeds fresh", stale=0), rows
    return done("warning", "; ".join(stale), stale=len(stale)), rows


def step_build(through_file_id: int | None = None) -> tuple[StepResult, str, list[str]]:
    """Prepare the candidate schema and build it with dbt (plus endpoint statistics), reading
    raw up to ``through_file_id`` (the watermark the raw gate checked). Returns the step
    result, the candidate schema and the build's notes (endpoints the data cannot support)."""
    from cfz_platform.transform import publish
    from cfz_platform.transform.pipeline import build_candidate, ensure_raw

    done = _timed("dbt")
    ensure_raw()
    with warehouse.connect() as conn:
        candidate = publish.prepare_candidate(conn)
    notes: list[str] = []
    build_candidate(candidate, notes, through_file_id=through_file_id)
    return done("completed", f"built {candidate}", notes=len(notes)), candidate, notes


def step_publish() -> StepResult:
    """Swap the validated candidate in as ``marts`` (one transaction)."""
    from cfz_platform.transform import publish

    done = _timed("publish")
    with warehouse.connect() as conn:
        publish.publish_candidate(conn)
    return done("completed", "marts replaced by the validated candidate")


def step_train(skip_if_unchanged: bool = True) -> StepResult:
    """Train the early-response model; MLflow decides champion vs challenger.

    With ``skip_if_unchanged`` (the nightly's automatic choice) nothing is trained when the
    newest registered version was trained on exactly today's training data and model spec:
    the run would reproduce it.
    """
    from cfz_platform.ml.train import (
        already_trained_version,
        load_training_inputs,
        train_early_response,
    )
    from cfz_platform.ml.ttp_training import run_ttp_training
    from cfz_platform.orchestration import pending

    done = _timed("train")
    with warehouse.connect(autocommit=True) as conn:
        seen = pending.response_data_through(conn)
    inputs = load_training_inputs()  # read once: the skip check and the training share it
    if skip_if_unchanged:
        version = already_trained_version(inputs=inputs)
        if version is not None:
            _record_training_seen(seen)
            return done(
                "skipped", f"training data and model spec unchanged since early_response v{version}"
            )
    result = train_early_response(inputs=inputs)
    ttp_lines = run_ttp_training(inputs.spec)  # the TTP Cox models, logged beside it
    _record_training_seen(seen)
    auc = result.metrics.get("cv_auc")
    head = f"early_response v{result.model_version}: " if result.model_version else ""
    return done(
        "completed",
        f"{head}{result.decision.get('reason', '')}; {' '.join(line.strip() for line in ttp_lines[:2])}",
        cv_auc=auc,
        promoted=result.promoted,
        model_version=result.model_version,
    )


def _record_training_seen(through: int) -> None:
    from cfz_platform.orchestration import pending

    with warehouse.connect(autocommit=True) as conn:
        pending.record_training_seen(conn, MODEL, through)


def training_pending() -> bool:
    """True when published lab/response/DM data arrived after what training last saw (a
    rerun after a killed nightly still trains on what the killed run loaded)."""
    from cfz_platform.orchestration import pending

    with warehouse.connect(autocommit=True) as conn:
        return pending.response_data_waiting_for_training(conn, MODEL)


def build_pending() -> int:
    """Loaded files the published ``marts`` does not hold yet (loaded by a run that was killed
    or failed before publishing, or by an ingest that overlapped the last build)."""
    from cfz_platform.orchestration import pending

    with warehouse.connect(autocommit=True) as conn:
        return pending.files_waiting_for_build(conn)


def step_score() -> StepResult:
    """Score subjects with the champion (skipped when there is no champion yet)."""
    from cfz_platform.ml import tracking
    from cfz_platform.ml.scoring import score_with_champion

    done = _timed("score")
    client = tracking.configure()
    if tracking.current_champion(client, "early_response") is None:
        return done("skipped", "no champion model registered yet")
    result = score_with_champion()
    return done(
        "completed",
        f"{result.n_scored} subjects scored with v{result.model_version} "
        f"({result.n_predicted_responders} predicted responders)",
        n_scored=result.n_scored,
    )


def step_report(out_dir: Path) -> tuple[StepResult, Path]:
    """Write the static HTML report."""
    from cfz_platform.report import build_report

    done = _timed("report")
    path = build_report(out_dir)
    return done("completed", str(path)), path


def headline_tables(conn: psycopg.Connection, run_id: str) -> dict[str, list[dict]]:
    """Endpoint headline numbers and this run's quality findings, for the run summary.

    Best effort: a table that does not exist (e.g. a pilot study without endpoints) is left out.
    """
    queries = {
        "endpoint headlines (overall)": (
            "select endpoint, n_subjects, n_count, n_events, estimate, ci_lower, ci_upper, unit "
            "from marts.rpt_study_endpoints where population = 'OVERALL' order by endpoint",
            {},
        ),
        "quality findings (this run)": (
            "select gate, suite, expectation, severity, unexpected_count from audit.quality_results "
            "where run_id = %(run_id)s and not success order by severity, suite, expectation limit 25",
            {"run_id": run_id},
        ),
    }
    tables: dict[str, list[dict]] = {}
    for title, (query, params) in queries.items():
        try:
            with conn.transaction(), conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
                cur.execute(query, params)
                tables[title] = cur.fetchall()
        except psycopg.Error:
            continue
    return tables
