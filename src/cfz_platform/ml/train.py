"""One training run of the early-response model, end to end.

``train_early_response()`` reads ``marts.fct_ml_features``, cross-validates the primary model,
the comparator and the two reference models, fits the primary model on every labelled
subject, logs everything to MLflow, registers a new version of ``early_response`` and
decides whether it becomes the champion. A spec reading any other schema (``dev_marts``:
``cfz train --dev``) makes a development run: its own experiment, nothing registered
(``ml.destination``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from cfz_platform.db import warehouse
from cfz_platform.ml import tracking
from cfz_platform.ml.destination import TrainingDestination, compute_destination
from cfz_platform.ml.evaluation import (
    FIT_THREADS,
    CvResult,
    PendingCv,
    cross_validate,
    start_cross_validation,
)
from cfz_platform.ml.features import data_snapshot, load_features, snapshot_json, training_frame
from cfz_platform.ml.folds import compute_fit_inputs
from cfz_platform.ml.pipelines import build_pipeline, feature_names_out
from cfz_platform.ml.response_validation import publish_response_validation
from cfz_platform.ml.spec import ModelSpec, load_spec

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a training run produced."""

    run_id: str
    model_version: str | None  # None: a development run, nothing registered
    promoted: bool
    decision: dict
    metrics: dict[str, float]
    snapshot: dict
    experiment: str = tracking.EXPERIMENT


def compute_cv_repeats(
    n_repeats: int, n_subjects: int, subject_repeats: int | None, min_repeats: int = 2
) -> int:
    """CV repeats for a cohort of ``n_subjects``: the spec's ``n_repeats`` for small trials,
    fewer for large cohorts (cost stays proportional to the data).

    Steps: no budget -> ``n_repeats``; else ``subject_repeats // n_subjects`` (repeats whose
    out-of-fold predictions cover that many subject-predictions in all), clipped to
    ``[min_repeats, n_repeats]``. The split-to-split variance that repeats average away
    shrinks with n, so a large cohort needs only a few.
    """
    if not subject_repeats or n_subjects <= 0:
        return n_repeats
    return max(min(min_repeats, n_repeats), min(n_repeats, subject_repeats // n_subjects))


def compute_cv_settings(spec: ModelSpec, n_subjects: int) -> dict:
    """The CV arguments of ``evaluation.cross_validate`` for a cohort of ``n_subjects``:
    the spec's folds, seed and bootstrap, and ``compute_cv_repeats`` repeats."""
    return {
        "n_splits": int(spec.cv["n_splits"]),
        "n_repeats": compute_cv_repeats(
            int(spec.cv["n_repeats"]),
            n_subjects,
            spec.cv.get("subject_repeats"),
            int(spec.cv.get("min_repeats", 2)),
        ),
        "seed": int(spec.cv["seed"]),
        "n_boot": int(spec.cv.get("bootstrap", 1000)),
    }


def _cv(spec: ModelSpec, pipeline: Pipeline, X: pd.DataFrame, y: pd.Series) -> CvResult:
    return cross_validate(pipeline, X, y, **compute_cv_settings(spec, len(y)))


def start_candidate_cvs(
    spec: ModelSpec, pipes: dict[str, Pipeline], X: pd.DataFrame, y: pd.Series
) -> PendingCv:
    """Start the CV of every candidate pipeline on the same folds, their fold fits in one pool
    (``evaluation.start_cross_validation`` with the spec's settings); ``results()`` waits."""
    return start_cross_validation(pipes, X, y, **compute_cv_settings(spec, len(y)))


def candidate_pipelines(spec: ModelSpec) -> dict[str, Pipeline]:
    """The four pipelines of a run: primary, comparator, baseline-only and kinetics-only.

    The reference models are the primary model kind restricted to a feature subset.
    """
    seed = int(spec.cv["seed"])
    pipes = {
        "primary": build_pipeline(
            spec.primary["kind"],
            spec.numeric_features,
            spec.categorical_features,
            spec.primary,
            seed,
        ),
        "comparator": build_pipeline(
            spec.comparator["kind"],
            spec.numeric_features,
            spec.categorical_features,
            spec.comparator,
            seed,
        ),
    }
    for name, cols in spec.comparison_feature_sets.items():
        pipes[name] = build_pipeline(spec.primary["kind"], cols, [], spec.primary, seed)
    return pipes


def _importances(
    spec: ModelSpec, model: Pipeline, X: pd.DataFrame, y: pd.Series
) -> tuple[dict, dict, dict]:
    """Standardized coefficients (logistic) and permutation importances (AUC drop).

    Steps: 1. the coefficients of the fitted model; 2. permutation importances (10 shuffles
    per feature, the spec's seed) of the same pipeline fitted on the frame's values as one
    array (``pipelines.positional_pipeline``: identical fit and scores, without pandas' cost
    in each of the 120 scorings), or of the model itself when it cannot read an array.
    """
    coefs: dict[str, float] = {}
    est = model.named_steps["model"]
    if hasattr(est, "coef_"):
        coefs = dict(zip(feature_names_out(model), est.coef_[0].tolist(), strict=True))
    # the array-or-frame choice of the fold fits (``folds.compute_fit_inputs``)
    twins, X_scored = compute_fit_inputs({"primary": model}, X)
    scored = twins["primary"]
    if scored is not model:  # the positional twin, unfitted
        scored.fit(X_scored, y)
    perm = permutation_importance(
        scored, X_scored, y, scoring="roc_auc", n_repeats=10, random_state=int(spec.cv["seed"])
    )
    means = dict(zip(X.columns, perm.importances_mean.tolist(), strict=True))
    stds = dict(zip(X.columns, perm.importances_std.tolist(), strict=True))
    return coefs, means, stds


def compute_spec_hash(spec: ModelSpec) -> str:
    """sha256 of the model spec (features, label, models, CV settings) as sorted JSON."""
    return hashlib.sha256(
        json.dumps(asdict(spec), sort_keys=True, default=str).encode()
    ).hexdigest()


@dataclass(frozen=True)
class TrainingInputs:
    """The spec, the feature mart and the identity of its data, read once per nightly: the
    skip check and the training run share them."""

    spec: ModelSpec
    frame: pd.DataFrame
    snapshot: dict


def load_training_inputs(spec: ModelSpec | None = None) -> TrainingInputs:
    """Read the spec (unless given), the feature mart and its data snapshot."""
    spec = spec or load_spec()
    with warehouse.connect() as conn:
        frame = load_features(conn, spec)
        snapshot = data_snapshot(conn, frame, spec)
    return TrainingInputs(spec, frame, snapshot)


def already_trained_version(
    spec: ModelSpec | None = None, inputs: TrainingInputs | None = None
) -> str | None:
    """The registered version trained on today's exact training data and spec, if any.

    Steps: load the feature mart (unless ``inputs`` has it); hash it the way a training run
    does (``snapshot_hash``: subjects, features, label); ask the registry whether its newest
    version carries that hash and this spec's hash. A retraining would then reproduce that
    version (same data, same seeds), so the nightly skips it. A development run (features
    outside ``marts``) registers nothing: nothing is ever "already trained" for it.
    """
    inputs = inputs or load_training_inputs(spec)
    if compute_destination(inputs.spec, tracking.EXPERIMENT).is_development:
        return None
    client = tracking.configure()
    return tracking.latest_version_trained_on(
        client,
        inputs.spec.registered_model,
        inputs.snapshot["snapshot_hash"],
        compute_spec_hash(inputs.spec),
    )


def train_early_response(
    spec: ModelSpec | None = None, inputs: TrainingInputs | None = None
) -> TrainResult:
    """Train, evaluate, log, register and decide the champion.

    Steps:
    0. check the MLflow store is reachable (before minutes of work, not after);
    1. read the spec and the feature mart (unless ``inputs`` has them); keep labelled
       subjects; identify the data snapshot;
    2. start the repeated stratified CV of the primary model, the comparator, baseline-only
       (b2m + albumin) and kinetics-only models: all their fold fits in one pool of worker
       processes (``evaluation.start_cross_validation``);
    3. meanwhile: fit the primary model on all labelled subjects; coefficients + permutation
       importances and their plots; MLflow set-up; MLflow's one-time model-logging costs
       (``tracking.warm_model_logging``);
    4. collect the CV metrics; ROC and calibration plots, out-of-fold predictions;
    5. in one MLflow run: parameters, every metric, the plots, the feature list with the
       as-of rule, the snapshot identity, the out-of-fold predictions, and the model with
       signature and input example, registered as a new version of ``spec.registered_model``;
    6. champion decision (``tracking.decide_champion``), logged on the run; the version's
       CV metrics added to ``ml.early_response_validation`` (``response_validation``), which
       the report shows.
    A development run (``destination.compute_destination``: features outside ``marts``) logs
    steps 1-5 to the experiment ``<name>-dev``, keeps the model as a run artifact only, and
    skips step 6: nothing is registered, no alias moves.
    """
    tracking.check_store()
    inputs = inputs or load_training_inputs(spec)
    spec, frame, snapshot = inputs.spec, inputs.frame, inputs.snapshot
    destination = compute_destination(spec, tracking.EXPERIMENT)
    log.info("%s", destination.describe())
    X, y = training_frame(frame, spec)
    if len(X) == 0:
        raise ValueError(f"{spec.features_table} has no labelled subjects to train on")
    log.info(
        "training on %d subjects (%d positive), snapshot %s",
        len(X),
        int(y.sum()),
        snapshot["snapshot_hash"][:12],
    )

    pipes = candidate_pipelines(spec)
    pending = start_candidate_cvs(spec, pipes, X, y)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        try:
            # while the fold fits run in the worker processes: all that does not need them
            with threadpool_limits(FIT_THREADS):
                model = clone(pipes["primary"]).fit(X, y)
                coefs, perm_mean, perm_std = _importances(spec, model, X, y)
            _write_model_artifacts(spec, snapshot, coefs, perm_mean, perm_std, out)
            client = tracking.configure()
            tracking.ensure_experiment(destination.experiment)
            model_arguments = tracking.model_log_arguments(model, X.head(5))
            tracking.warm_model_logging(model, model_arguments)
            results = pending.results()
        finally:
            pending.cancel()
        metrics = compute_run_metrics(results, y)
        chosen_c = getattr(model.named_steps["model"], "C_", None)
        if chosen_c is not None:  # logistic_cv: the C its inner CV chose on all subjects
            metrics["primary_chosen_C"] = float(np.ravel(chosen_c)[0])
        _write_cv_artifacts(frame, X, y, results, out)
        with mlflow.start_run(run_name=f"{spec.name}-{snapshot['snapshot_hash'][:8]}") as run:
            _log_run(spec, snapshot, X, y, results, metrics, out, destination)
            info = mlflow.sklearn.log_model(
                model,
                name="model",
                registered_model_name=destination.registered_model,
                **model_arguments,
            )
            if destination.is_development:
                decision = _development_decision(destination)
            else:
                decision = _decide_champion(spec, client, info, frame, X, y, results, snapshot)
                publish_response_validation(
                    spec.registered_model, decision["new_version"], run.info.run_id, metrics
                )
            mlflow.log_dict(decision, "champion_decision.json")
    return TrainResult(
        run.info.run_id,
        decision["new_version"],
        decision["promoted"],
        decision,
        metrics,
        snapshot,
        destination.experiment,
    )


def _development_decision(destination: TrainingDestination) -> dict:
    """The decision record of a development run: nothing registered, no alias."""
    mlflow.set_tags({"registry_decision": "not registered (development run)"})
    return {
        "model_name": None,
        "new_version": None,
        "promoted": False,
        "alias": None,
        "reason": destination.describe(),
    }


def _decide_champion(
    spec: ModelSpec,
    client,
    info,
    frame: pd.DataFrame,
    X: pd.DataFrame,
    y: pd.Series,
    results: dict[str, CvResult],
    snapshot: dict,
) -> dict:
    """Champion or challenger for the version the active run registered
    (``tracking.decide_champion``), tagged on the run; its record as a dict."""
    version = str(info.registered_model_version)

    def reevaluate(model_uri: str) -> float:
        champion = tracking.load_registered_model(model_uri)
        return _cv(spec, clone(champion), frame.loc[X.index], y).auc

    decision = tracking.decide_champion(
        client,
        spec.registered_model,
        version,
        results["primary"].auc,
        snapshot["snapshot_hash"],
        reevaluate,
    )
    mlflow.set_tags(
        {
            "registry_decision": decision.reason,
            "registry_alias": decision.alias,
            "model_version": version,
        }
    )
    mlflow.log_metric("promoted", float(decision.promoted))
    return decision.as_dict()


def compute_run_metrics(results: dict[str, CvResult], y: pd.Series) -> dict[str, float]:
    """The run's metrics: each pipeline's CV metrics under its prefix (``cv_``,
    ``comparator_cv_``, ``<reference>_cv_``), the cohort size and the kinetics gain
    (primary minus baseline-only CV AUC)."""
    metrics: dict[str, float] = {}
    prefixes = {"primary": "cv_", "comparator": "comparator_cv_"}
    for name, res in results.items():
        metrics.update(res.metrics(prefixes.get(name, f"{name}_cv_")))
    metrics["n_subjects"] = float(len(y))
    metrics["n_positive"] = float(y.sum())
    metrics["kinetics_gain_auc"] = results["primary"].auc - results["baseline_only"].auc
    return metrics


def _write_model_artifacts(
    spec: ModelSpec, snapshot: dict, coefs: dict, perm_mean: dict, perm_std: dict, out: Path
) -> None:
    """The run's files that do not depend on the CV: coefficient and importance plots, the
    feature list with the as-of rule, the snapshot identity, the importances."""
    from cfz_platform.ml import plots

    if coefs:
        plots.plot_bars(coefs, "Primary model: standardized coefficients", out / "coefficients.png")
    plots.plot_bars(
        perm_mean,
        "Permutation importance (AUC drop, fitted model, all subjects)",
        out / "permutation_importance.png",
        perm_std,
    )
    (out / "features.json").write_text(
        json.dumps(
            {
                "features": spec.features,
                "numeric": spec.numeric_features,
                "categorical": spec.categorical_features,
                "label": spec.label,
                "as_of_rule": spec.as_of_rule,
                "comparison_feature_sets": spec.comparison_feature_sets,
            },
            indent=2,
        )
    )
    (out / "data_snapshot.json").write_text(snapshot_json(snapshot))
    (out / "importances.json").write_text(
        json.dumps(
            {"coefficients": coefs, "permutation_mean": perm_mean, "permutation_std": perm_std},
            indent=2,
        )
    )


def _write_cv_artifacts(
    frame: pd.DataFrame, X: pd.DataFrame, y: pd.Series, results: dict[str, CvResult], out: Path
) -> None:
    """The run's files from the CV: ROC curves, the primary model's reliability diagram and
    the out-of-fold predictions of every pipeline."""
    from cfz_platform.ml import plots

    curves = {name: (y.to_numpy(), res.oof_probability, res.auc) for name, res in results.items()}
    prim = results["primary"]
    plots.plot_roc(curves, out / "roc.png")
    plots.plot_reliability(
        y.to_numpy(),
        prim.oof_probability,
        prim.calibration_slope,
        prim.calibration_intercept,
        out / "calibration.png",
    )
    oof = frame.loc[X.index, ["usubjid"]].assign(
        label=y.to_numpy(),
        **{f"oof_{name}": res.oof_probability for name, res in results.items()},
    )
    oof.to_csv(out / "oof_predictions.csv", index=False)


def _log_run(
    spec: ModelSpec,
    snapshot: dict,
    X: pd.DataFrame,
    y: pd.Series,
    results: dict[str, CvResult],
    metrics: dict[str, float],
    out: Path,
    destination: TrainingDestination,
) -> None:
    """Tags, parameters, metrics and the evaluation files of the active MLflow run."""
    mlflow.set_tags(
        {
            "features_table": destination.features_table,
            "training_kind": "development" if destination.is_development else "production",
            "snapshot_hash": snapshot["snapshot_hash"],
            "spec_hash": compute_spec_hash(spec),
            "last_delivery": str(snapshot["last_delivery"]),
            "label": spec.label,
            "primary_kind": spec.primary["kind"],
        }
    )
    mlflow.log_params(
        {
            "label": spec.label,
            "features": ",".join(spec.features),
            "as_of_rule": spec.as_of_rule[:500],
            "primary_kind": spec.primary["kind"],
            "primary_C": spec.primary.get("C"),
            "primary_Cs": spec.primary.get("Cs"),
            "comparator_kind": spec.comparator["kind"],
            "comparator_max_depth": spec.comparator.get("max_depth"),
            "cv_n_splits": results["primary"].n_splits,
            "cv_n_repeats": results["primary"].n_repeats,
            "cv_seed": spec.cv["seed"],
            "bootstrap": spec.cv.get("bootstrap"),
            "decision_threshold": spec.decision_threshold,
            "n_subjects": len(X),
            "n_positive": int(y.sum()),
            "snapshot_hash": snapshot["snapshot_hash"],
        }
    )
    mlflow.log_metrics(metrics)
    mlflow.log_artifacts(str(out), artifact_path="evaluation")


def summary_lines(result: TrainResult) -> list[str]:
    """Human-readable summary of a training run (for the CLI and the flow)."""
    m = result.metrics
    if result.model_version is None:
        first = f"run {result.run_id}: {result.decision['reason']}"
    else:
        first = (
            f"run {result.run_id}: registered {result.decision['model_name']} "
            f"v{result.model_version}; {result.decision['reason']}"
        )
    lines = [first]
    for label, p in (
        ("primary (logistic)", "cv_"),  # logistic or logistic_cv
        ("comparator (boosting)", "comparator_cv_"),
        ("baseline-only", "baseline_only_cv_"),
        ("kinetics-only", "kinetics_only_cv_"),
    ):
        lines.append(
            f"  {label:22s} CV AUC {m[p + 'auc']:.3f} (bootstrap 95% CI {m[p + 'auc_ci_low']:.3f}-"
            f"{m[p + 'auc_ci_high']:.3f}; CV spread {m[p + 'auc_cv_low']:.3f}-{m[p + 'auc_cv_high']:.3f}) "
            f"Brier {m[p + 'brier']:.3f} cal. slope {m[p + 'calibration_slope']:.2f} "
            f"(95% CI {m[p + 'calibration_slope_ci_low']:.2f}-"
            f"{m[p + 'calibration_slope_ci_high']:.2f}) "
            f"intercept {m[p + 'calibration_intercept']:.2f}"
        )
    if "primary_chosen_C" in m:
        lines.append(f"  primary model: C = {m['primary_chosen_C']:.3g} chosen by inner CV")
    lines.append(f"  n = {int(m['n_subjects'])} ({int(m['n_positive'])} responders)")
    return lines
