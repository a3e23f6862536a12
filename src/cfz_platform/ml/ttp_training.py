"""One training run of the time-to-progression Cox models, logged to MLflow beside the
early-response model, and its validation published for the report and BI.

``train_ttp_model()`` cross-validates the Cox model on the baseline and kinetic features
against the baseline-only Cox model (``ml.survival``), logs both C-indices with their CIs as
an MLflow run of its own in the early-response experiment (tag ``model_kind`` =
``ttp_cox``; a development spec: the ``-dev`` experiment), and, for a production run,
replaces ``ml.ttp_model_validation`` (what the report's model section shows).
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import pandas as pd
from psycopg import sql

from cfz_platform.db import warehouse
from cfz_platform.ml import survival, tracking
from cfz_platform.ml.bi_tables import comment_and_grant
from cfz_platform.ml.destination import compute_destination
from cfz_platform.ml.spec import ModelSpec, load_spec
from cfz_platform.ml.train import compute_cv_settings

log = logging.getLogger(__name__)

MODEL_KIND = "ttp_cox"
SCHEMA, TABLE = "ml", "ttp_model_validation"
#: metric prefix of each Cox model in the MLflow run
PREFIXES = {"cox_kinetic": "", "cox_baseline_only": "baseline_only_"}
TABLE_COMMENT = (
    "Cross-validated C-index of the time-to-progression Cox models (cfz train, MLflow run "
    "tagged model_kind = ttp_cox): the Cox model on the C1D15 baseline and kinetic features "
    "against the baseline-only Cox model, landmarked at C1D15. One row per model of the "
    "latest production run."
)
COLUMN_COMMENTS = {
    "run_id": "MLflow run of the training (experiment early_response, tag model_kind = ttp_cox).",
    "model": "cox_kinetic (baseline and kinetic features) or cox_baseline_only.",
    "features": "The model's features, comma-separated.",
    "cv_c_index": "Harrell's C-index of the out-of-fold risk scores (repeated stratified K-fold CV).",
    "cv_c_index_ci_low": "Lower bound of the C-index's 95% CI (bootstrap of subjects).",
    "cv_c_index_ci_high": "Upper bound of the C-index's 95% CI (bootstrap of subjects).",
    "n_subjects": "Response-evaluable subjects still at risk on C1D15 (the landmark).",
    "n_events": "Of them, subjects whose TTP is an event (confirmed PD or death from PD).",
    "trained_at": "When the run finished (UTC).",
}


@dataclass
class TtpResult:
    """What a TTP training run produced."""

    run_id: str
    experiment: str
    metrics: dict[str, float]
    results: dict[str, survival.CoxCvResult]


def train_ttp_model(spec: ModelSpec | None = None) -> TtpResult:
    """Cross-validate, log and publish the TTP Cox models.

    Steps:
    1. read the feature mart joined with TTP, landmarked at C1D15 (``survival.load_ttp_frame``);
    2. cross-validate both Cox models on the same folds with the spec's CV settings
       (``survival.cross_validate_cox``);
    3. one MLflow run (tag ``model_kind`` = ``ttp_cox``) in the spec's experiment: metrics
       ``cv_c_index`` and ``baseline_only_cv_c_index`` with their CIs, ``kinetics_gain_c_index``,
       n and events; the coefficients of the kinetic model fitted on every subject;
    4. a production run (features in ``marts``) replaces ``ml.ttp_model_validation``.
    """
    spec = spec or load_spec()
    destination = compute_destination(spec, tracking.EXPERIMENT)
    with warehouse.connect() as conn:
        frame = survival.load_ttp_frame(conn, spec)
    if frame.empty or frame["event"].nunique() < 2:
        raise ValueError(
            f"{spec.features_table} has no subjects at risk on C1D15 with both TTP events and "
            "censored times: the TTP model needs both"
        )
    settings = compute_cv_settings(spec, len(frame))
    results = survival.cross_validate_cox(
        frame,
        survival.compute_feature_sets(spec),
        list(spec.categorical_features),
        settings["n_splits"],
        settings["n_repeats"],
        settings["seed"],
        settings["n_boot"],
    )
    metrics: dict[str, float] = {}
    for name, res in results.items():
        metrics.update(res.metrics(PREFIXES[name]))
    metrics["kinetics_gain_c_index"] = (
        results["cox_kinetic"].c_index - results["cox_baseline_only"].c_index
    )
    metrics["n_subjects"] = float(len(frame))
    metrics["n_events"] = float(frame["event"].sum())
    tracking.configure()
    tracking.ensure_experiment(destination.experiment)
    with tempfile.TemporaryDirectory() as tmp, mlflow.start_run(run_name=f"{MODEL_KIND}") as run:
        mlflow.set_tags(
            {
                "model_kind": MODEL_KIND,
                "features_table": destination.features_table,
                "training_kind": "development" if destination.is_development else "production",
            }
        )
        mlflow.log_params(
            {
                "outcome": "TTP (fct_time_to_event), landmark C1D15",
                "landmark_days": survival.LANDMARK_DAYS,
                "penalizer": survival.PENALIZER,
                "features": ",".join(results["cox_kinetic"].features),
                "baseline_only_features": ",".join(results["cox_baseline_only"].features),
                "cv_n_splits": settings["n_splits"],
                "cv_n_repeats": settings["n_repeats"],
                "cv_seed": settings["seed"],
                "bootstrap": settings["n_boot"],
            }
        )
        mlflow.log_metrics(metrics)
        out = Path(tmp)
        _coefficients(frame, spec).to_csv(out / "coefficients.csv")
        (out / "cv_results.json").write_text(
            json.dumps({k: asdict(v) for k, v in results.items()}, indent=2)
        )
        mlflow.log_artifacts(str(out), artifact_path="ttp_cox")
    if not destination.is_development:
        publish_validation(run.info.run_id, results)
    return TtpResult(run.info.run_id, destination.experiment, metrics, results)


def _coefficients(frame: pd.DataFrame, spec: ModelSpec) -> pd.DataFrame:
    """The kinetic Cox model fitted on every subject: hazard ratio per SD with its 95% CI."""
    from lifelines import CoxPHFitter

    numeric = survival.compute_feature_sets(spec)["cox_kinetic"]
    x, _ = survival.derive_design(frame, frame, numeric, list(spec.categorical_features))
    fitter = CoxPHFitter(penalizer=survival.PENALIZER)
    fitter.fit(
        x.assign(duration=frame["duration"], event=frame["event"]),
        duration_col="duration",
        event_col="event",
    )
    return fitter.summary[["coef", "exp(coef)", "exp(coef) lower 95%", "exp(coef) upper 95%"]]


def publish_validation(run_id: str, results: dict[str, survival.CoxCvResult]) -> None:
    """Replace ``ml.ttp_model_validation`` with this run's rows, commented, readable by BI."""
    table = sql.Identifier(SCHEMA, TABLE)
    with warehouse.connect() as conn, conn.transaction(), conn.cursor() as cur:
        cur.execute(sql.SQL("drop table if exists {}").format(table))
        cur.execute(
            sql.SQL(
                "create table {} (run_id text, model text, features text, cv_c_index double "
                "precision, cv_c_index_ci_low double precision, cv_c_index_ci_high double "
                "precision, n_subjects integer, n_events integer, trained_at timestamptz "
                "default now())"
            ).format(table)
        )
        comment_and_grant(cur, SCHEMA, TABLE, TABLE_COMMENT, COLUMN_COMMENTS)
        for res in results.values():
            cur.execute(
                sql.SQL(
                    "insert into {} (run_id, model, features, cv_c_index, cv_c_index_ci_low, "
                    "cv_c_index_ci_high, n_subjects, n_events) values (%s, %s, %s, %s, %s, %s, %s, %s)"
                ).format(table),
                (
                    run_id,
                    res.model,
                    ",".join(res.features),
                    res.c_index,
                    res.ci_low,
                    res.ci_high,
                    res.n_subjects,
                    res.n_events,
                ),
            )


def summary_lines(result: TtpResult) -> list[str]:
    """Human-readable summary of a TTP training run."""
    lines = [f"TTP Cox run {result.run_id} (experiment {result.experiment}):"]
    for name, res in result.results.items():
        lines.append(
            f"  {name:18s} CV C-index {res.c_index:.3f} (bootstrap 95% CI {res.ci_low:.3f}-"
            f"{res.ci_high:.3f}); n = {res.n_subjects}, {res.n_events} events"
        )
    return lines


def run_ttp_training(spec: ModelSpec | None = None) -> list[str]:
    """Train the TTP models after the early-response model; their summary lines.

    A trial without TTP events and censored times yet (``ValueError``) is not a failure of the
    training: the line says why nothing was trained.
    """
    try:
        return summary_lines(train_ttp_model(spec))
    except ValueError as exc:
        log.warning("TTP Cox models not trained: %s", exc)
        return [f"TTP Cox models: not trained ({exc})"]
