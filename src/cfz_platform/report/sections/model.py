"""The early-response model section, read from the warehouse only.

One source: the published scoring table ``ml.early_response_predictions`` (its current
scoring run, ``is_current``), joined with the observed label of the model spec
(``models/early_response/spec.yaml``: features table and label, e.g.
``marts.fct_ml_features.label_pr``). From these the section computes ROC, calibration and a
few metrics: this is apparent (in-sample) performance of the scored subjects, and the
section says so. Above them, the cross-validated performance of the scoring version
(``ml.early_response_validation``, written by its training run): the honest estimate. The
report does not read MLflow.

Beside it, the time-to-progression Cox models (``cfz_platform.ml.ttp_training``): their
cross-validated C-indices with 95% CIs, published by the training run in
``ml.ttp_model_validation`` (the Cox model on baseline and kinetic features against the
baseline-only one).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml
from markupsafe import Markup, escape

from cfz_platform.ml.spec import load_spec
from cfz_platform.report import figures
from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table
from cfz_platform.report.marts import Unavailable

PREDICTIONS = "ml.early_response_predictions"
VALIDATION = "ml.early_response_validation"
TTP_VALIDATION = "ml.ttp_model_validation"
TTP_COLUMNS = [
    "run_id",
    "model",
    "features",
    "cv_c_index",
    "cv_c_index_ci_low",
    "cv_c_index_ci_high",
    "n_subjects",
    "n_events",
]
TTP_LABELS = {
    "cox_kinetic": "Cox, baseline + kinetic features",
    "cox_baseline_only": "Cox, baseline features only",
}
PREDICTION_COLUMNS = [
    "usubjid",
    "model_name",
    "model_version",
    "probability",
    "decision_threshold",
    "scored_at",
    "is_current",
]


def compute_calibration_bins(p: np.ndarray, y: np.ndarray, n_bins: int = 5) -> pd.DataFrame:
    """Quantile bins of predicted probability: mean prediction, observed rate, count."""
    frame = pd.DataFrame({"p": p, "y": y})
    bins = min(n_bins, max(1, frame["p"].nunique()))
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
    return (
        frame.groupby("bin")
        .agg(pred=("p", "mean"), observed=("y", "mean"), n=("y", "size"))
        .reset_index()
    )


def compute_roc(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """ROC points and AUC (trapezoidal) for labels ``y`` (0/1) and scores ``p``.

    Steps: 1. sort by descending score; 2. cumulative true/false positives at each distinct
    threshold (ties move together); 3. normalise by positives/negatives, prepend (0, 0);
    4. AUC by the trapezoid rule (equals the Mann-Whitney probability, ties counted 1/2).
    """
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    order = np.argsort(-p, kind="mergesort")
    y, p = y[order], p[order]
    last_of_tie = np.r_[np.nonzero(np.diff(p))[0], len(p) - 1]
    tps = np.cumsum(y)[last_of_tie]
    fps = (last_of_tie + 1) - tps
    tpr = np.r_[0.0, tps / max(y.sum(), 1)]
    fpr = np.r_[0.0, fps / max((1 - y).sum(), 1)]
    return fpr, tpr, float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def compute_model_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> pd.DataFrame:
    """Apparent metrics of the scored subjects: n, responders, ROC AUC, Brier score, and
    sensitivity / specificity at the decision threshold (predicted response: p >= threshold)."""
    y = np.asarray(y, dtype=int)
    p = np.asarray(p, dtype=float)
    predicted = p >= threshold
    positives, negatives = int(y.sum()), int((1 - y).sum())
    rows = [
        ("scored subjects with an observed label", len(y)),
        ("observed responders", positives),
        ("ROC AUC", compute_roc(y, p)[2]),
        ("Brier score", float(np.mean((p - y) ** 2))),
        (f"sensitivity at p ≥ {threshold:g}", float((predicted & (y == 1)).sum() / positives)),
        (f"specificity at p ≥ {threshold:g}", float((~predicted & (y == 0)).sum() / negatives)),
    ]
    return pd.DataFrame(rows, columns=["metric", "value"])


def _current_predictions(data: ReportData, features_table: str, label: str) -> pd.DataFrame:
    """The current scoring run's predictions joined with the observed label (y, 0/1).

    Steps: 1. rows of the predictions table with ``is_current``; 2. the label column of the
    features table (checked like every contract column); 3. inner join on usubjid, drop
    subjects whose label is not known yet.
    """
    p = data.reader.table("ml", "early_response_predictions", PREDICTION_COLUMNS)
    p = p[p["is_current"].fillna(False).astype(bool)]
    if p.empty:
        raise Unavailable(f"{PREDICTIONS} has no current scoring run; score with `cfz score`")
    schema, table = features_table.split(".", 1)
    f = data.reader.table(schema, table, ["usubjid", label])
    joined = (
        p.merge(f, on="usubjid")
        .rename(columns={"probability": "p", label: "y"})
        .dropna(subset=["p", "y"])
    )
    return joined.assign(p=joined["p"].astype(float), y=joined["y"].astype(bool).astype(int))


def compute_ttp_table(validation: pd.DataFrame) -> pd.DataFrame:
    """The TTP models' rows as the report shows them: model, C-index with its 95% CI, n, events."""
    rows = [
        (
            TTP_LABELS.get(r.model, r.model),
            f"{r.cv_c_index:.3f} ({r.cv_c_index_ci_low:.3f}-{r.cv_c_index_ci_high:.3f})",
            int(r.n_subjects),
            int(r.n_events),
        )
        for r in validation.itertuples()
    ]
    return pd.DataFrame(
        rows, columns=["Model", "CV C-index (95% CI)", "Subjects at risk on C1D15", "TTP events"]
    )


def compute_validation_table(row: pd.Series) -> pd.DataFrame:
    """The cross-validated metrics of one ``ml.early_response_validation`` row, in words."""

    def with_ci(name: str) -> str:
        return f"{row[name]:.3f} ({row[f'{name}_ci_low']:.3f}–{row[f'{name}_ci_high']:.3f})"

    return pd.DataFrame(
        [
            ("Subjects (responders)", f"{int(row['n_subjects'])} ({int(row['n_positive'])})"),
            ("ROC AUC (95% CI)", with_ci("cv_auc")),
            ("Calibration slope (95% CI)", with_ci("cv_calibration_slope")),
            ("Brier score", f"{row['cv_brier']:.3f}"),
        ],
        columns=["Metric", "Cross-validated"],
    )


def _validation_items(data: ReportData, models: pd.DataFrame) -> list:
    """The cross-validated performance of the versions that scored the current predictions
    (``ml.early_response_validation``), or one line saying it is not published."""
    found = pd.DataFrame()
    if data.reader.exists("ml", "early_response_validation"):
        rows = data.reader.table("ml", "early_response_validation", allow_empty=True)
        found = rows.merge(models, on=["model_name", "model_version"])
    if found.empty:
        return [
            Markup(
                "<p data-cv-missing>The cross-validated performance of this version is not in "
                f"{VALIDATION} (a model trained before it was published): retrain with "
                "<code>cfz train</code>; it is also in the version's MLflow training run.</p>"
            )
        ]
    items: list = []
    for row in found.itertuples(index=False):
        r = pd.Series(row._asdict())
        items.append(
            Table(
                compute_validation_table(r),
                f"Source: {VALIDATION} ({r['model_name']} version {r['model_version']}, MLflow "
                f"run {r['run_id']}): the model spec's repeated stratified cross-validation of the "
                "whole fitting procedure; out-of-fold predictions, 95% CIs. This is the honest "
                "estimate of how the model does on new subjects.",
            )
        )
    return items


def _ttp_items(data: ReportData) -> list:
    """The TTP Cox models' table from ``ml.ttp_model_validation`` (none when not trained)."""
    if not data.reader.exists("ml", "ttp_model_validation"):
        return []
    validation = data.reader.table("ml", "ttp_model_validation", TTP_COLUMNS)
    if validation.empty:
        return []
    run = validation["run_id"].iloc[0]
    return [
        Markup('<p class="headline">Time to progression: Cox models at the C1D15 landmark.</p>'),
        Table(
            compute_ttp_table(validation),
            f"Source: {TTP_VALIDATION} (MLflow run {run}, tag model_kind = ttp_cox): Harrell's "
            "C-index of out-of-fold risk scores (repeated stratified K-fold CV, the model spec's "
            "settings), 95% CI by bootstrap of subjects; TTP counted from C1D15 for the subjects "
            "still at risk then. 0.5 is chance.",
        ),
    ]


def build_model(data: ReportData) -> Section:
    """The early-response model's current scores and the TTP Cox models' validation.

    Steps: 1. the TTP Cox models' C-indices (``_ttp_items``); 2. the spec's features table
    and label; 3. the current predictions with labels (``_current_predictions``); 4. ROC and
    calibration plots and the metrics table, each captioned with its source and with
    'apparent (in-sample)', followed by the TTP table. Without predictions the section shows
    the TTP table alone, and is unavailable when neither exists.
    """
    ttp = _ttp_items(data)
    try:
        return _build_response_model(data, ttp)
    except Unavailable as exc:
        if not ttp:
            raise
        return Section(
            "model",
            "Early-response model (C1D15)",
            TTP_VALIDATION,
            items=[Markup(f"<p>Early-response model: {escape(str(exc))}.</p>"), *ttp],
        )


def _build_response_model(data: ReportData, ttp: list) -> Section:
    """The early-response part of the section (steps 2-4 of ``build_model``)."""
    try:
        spec = load_spec()
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise Unavailable(f"the model spec cannot be read: {str(exc).splitlines()[0]}") from exc
    if not data.reader.exists("ml", "early_response_predictions"):
        raise Unavailable(
            f"the early-response model has not been trained yet, or not scored (no {PREDICTIONS}); "
            "run `cfz train` and `cfz score`"
        )
    joined = _current_predictions(data, spec.features_table, spec.label)
    if joined.empty or joined["y"].nunique() < 2:
        raise Unavailable(
            "the scored subjects have fewer than two observed outcomes "
            f"({spec.features_table}.{spec.label}): ROC and calibration need both"
        )
    models = joined[["model_name", "model_version"]].drop_duplicates()
    version = ", ".join(f"{r.model_name} version {r.model_version}" for r in models.itertuples())
    scored_at = pd.to_datetime(joined["scored_at"]).max()
    threshold = float(joined["decision_threshold"].iloc[0])
    cap = (
        f"Source: {PREDICTIONS} (current scoring run, {version}) joined with "
        f"{spec.features_table}.{spec.label}; apparent (in-sample) performance on {len(joined)} scored subjects."
    )
    y, p = joined["y"].to_numpy(), joined["p"].to_numpy()
    fpr, tpr, auc = compute_roc(y, p)
    cal = compute_calibration_bins(p, y)
    items: list = [
        Markup('<p class="headline">Early-response model: cross-validated performance.</p>'),
        *_validation_items(data, models),
        Markup('<p class="headline">Apparent (in-sample) performance of the current scores.</p>'),
        figures.plot_roc(fpr, tpr, auc, cap),
        figures.plot_calibration(
            cal["pred"].to_numpy(), cal["observed"].to_numpy(), cal["n"].to_numpy(), cap
        ),
        Markup(
            f'<p class="headline">Scored with {escape(version)} on {escape(f"{scored_at:%Y-%m-%d %H:%M}")}.</p>'
        ),
        Table(
            compute_model_metrics(y, p, threshold),
            f"Computed by the report from {PREDICTIONS} and {spec.features_table}.{spec.label}: apparent "
            "(in-sample) performance, optimistic for the subjects the model was trained on; the "
            "cross-validated metrics above are the estimate for new subjects.",
        ),
        *ttp,
    ]
    source = f"{PREDICTIONS} (current run); {VALIDATION}; {spec.features_table}.{spec.label}"
    return Section(
        "model",
        "Early-response model (C1D15)",
        f"{source}; {TTP_VALIDATION}" if ttp else source,
        items=items,
    )
