"""The early-response model section: ROC and calibration, and the champion's metrics.

Sources, in order of preference:
1. the MLflow champion run (registered model ``early_response``, alias ``champion``):
   its metrics, and its ROC / calibration plots when the run logged them as PNG artifacts
   (these are cross-validated, so they are the honest ones);
2. otherwise ROC and calibration computed from ``ml.early_response_predictions`` joined
   with the label in ``marts.fct_ml_features`` (apparent, in-sample performance, said so).
When neither exists the section says the model has not been trained yet.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
from markupsafe import Markup, escape

from cfz_platform.report import figures
from cfz_platform.report.marts import Unavailable, pick
from cfz_platform.report.sections import ReportData, Section, Table

log = logging.getLogger(__name__)
ALIAS = "champion"


def _spec_names() -> tuple[str, str, str]:
    """(registered model, features table, label column) from the model spec, with defaults."""
    try:
        from cfz_platform.ml.spec import load_spec

        spec = load_spec()
        return spec.registered_model, spec.features_table, spec.label
    except Exception:  # noqa: BLE001 - the report must render without the ML package's spec
        return "early_response", "marts.fct_ml_features", "label_pr"


def _mlflow_has_registry(mlflow_dbname: str) -> bool:
    """True when the MLflow database exists and holds a model registry (avoids migrating an empty DB)."""
    from cfz_platform.db import warehouse

    try:
        with warehouse.connect(mlflow_dbname, autocommit=True) as conn:
            return conn.execute("select to_regclass('public.registered_models') is not null").fetchone()[0]
    except psycopg.Error:
        return False


def champion_run(model_name: str) -> tuple[dict, dict[str, bytes], str] | None:
    """(metrics, {artifact path: PNG bytes} for ROC/calibration, version) of the champion, or None.

    Steps: 1. skip when the MLflow database has no registry tables; 2. resolve
    ``models:/<name>@champion`` to its run; 3. read the run's metrics; 4. walk its artifacts
    and download PNGs whose names mention ROC or calibration.
    """
    from cfz_platform.db import warehouse

    owner = warehouse.settings()
    if not _mlflow_has_registry(owner.mlflow_dbname):
        return None
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient(tracking_uri=owner.mlflow_url, registry_uri=owner.mlflow_url)
    try:
        version = client.get_model_version_by_alias(model_name, ALIAS)
    except MlflowException:
        return None
    run = client.get_run(version.run_id)
    pngs: dict[str, bytes] = {}
    try:
        stack = [None]
        with tempfile.TemporaryDirectory() as tmp:
            while stack:
                for info in client.list_artifacts(version.run_id, stack.pop()):
                    low = info.path.lower()
                    if info.is_dir:
                        stack.append(info.path)
                    elif low.endswith(".png") and ("roc" in low or "calib" in low or "reliab" in low):
                        local = client.download_artifacts(version.run_id, info.path, tmp)
                        pngs[info.path] = Path(local).read_bytes()
    except Exception as exc:  # noqa: BLE001 - artifacts may live on another machine
        log.warning("could not read the champion run's artifacts: %s", exc)
    return dict(run.data.metrics), pngs, str(version.version)


def _predictions_with_labels(data: ReportData, features_table: str, label: str) -> pd.DataFrame:
    """Latest model version's predictions joined with the observed label (0/1)."""
    p = data.reader.table("ml", "early_response_predictions")
    src = "ml.early_response_predictions"
    prob = pick(p, "probability", "p_response", "prob", "predicted_probability", source=src)
    ver = pick(p, "model_version", "version", required=False)
    if ver:
        latest = pd.to_numeric(p[ver], errors="coerce").max()
        if pd.notna(latest):
            p = p[pd.to_numeric(p[ver], errors="coerce") == latest]
    schema, table = features_table.split(".", 1)
    f = data.reader.table(schema, table)
    lab = pick(f, label, "label_pr", "label", source=features_table)
    joined = p[["usubjid", prob]].merge(f[["usubjid", lab]], on="usubjid")
    joined = joined.rename(columns={prob: "p", lab: "y"}).dropna()
    joined["y"] = joined["y"].astype(float).astype(int)
    return joined


def compute_calibration_bins(p: np.ndarray, y: np.ndarray, n_bins: int = 5) -> pd.DataFrame:
    """Quantile bins of predicted probability: mean prediction, observed rate, count."""
    frame = pd.DataFrame({"p": p, "y": y})
    bins = min(n_bins, max(1, frame["p"].nunique()))
    frame["bin"] = pd.qcut(frame["p"].rank(method="first"), bins, labels=False)
    return frame.groupby("bin").agg(pred=("p", "mean"), observed=("y", "mean"), n=("y", "size")).reset_index()


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


def build_model(data: ReportData) -> Section:
    """ROC and calibration of the early-response model, plus its MLflow metrics."""
    model_name, features_table, label = _spec_names()
    items: list = []
    try:
        champion = champion_run(model_name)
    except Exception as exc:  # noqa: BLE001 - an unreachable tracking store must not sink the report
        log.warning("MLflow is not readable: %s", exc)
        champion = None
    have_predictions = data.reader.exists("ml", "early_response_predictions")
    if champion is None and not have_predictions:
        raise Unavailable("the early-response model has not been trained yet "
                          "(no MLflow champion and no ml.early_response_predictions)")
    pngs: dict[str, bytes] = {}
    if champion is not None:
        metrics, pngs, version = champion
        items.append(Markup(f'<p class="headline">Champion: {escape(model_name)} version {escape(version)}</p>'))
        if metrics:
            mt = pd.DataFrame(sorted(metrics.items()), columns=["metric", "value"])
            items.append(Table(mt, f"Metrics of the champion's MLflow training run (models:/{model_name}@{ALIAS})."))
    kinds = {"roc": None, "calibration": None}
    for path, png in sorted(pngs.items()):
        kind = "roc" if "roc" in path.lower() else "calibration"
        if kinds[kind] is None:
            kinds[kind] = figures.image_figure(png, f"{kind} plot from MLflow",
                                               f"Source: MLflow run artifact {path} (cross-validated).")
    if None in kinds.values():
        try:
            joined = _predictions_with_labels(data, features_table, label)
        except Unavailable as exc:
            joined = None
            items.append(Markup(f'<div class="unavailable">not available: ROC/calibration: {escape(str(exc))}</div>'))
        if joined is not None and joined["y"].nunique() < 2:
            items.append(Markup('<div class="unavailable">not available: ROC/calibration: the scored subjects '
                                'have only one observed outcome</div>'))
            joined = None
        if joined is not None:
            cap = (f"Source: ml.early_response_predictions joined with {features_table}.{label}; "
                   f"apparent (in-sample) performance on {len(joined)} scored subjects.")
            if kinds["roc"] is None:
                fpr, tpr, auc = compute_roc(joined["y"].to_numpy(), joined["p"].to_numpy())
                kinds["roc"] = figures.plot_roc(fpr, tpr, auc, cap)
            if kinds["calibration"] is None:
                cal = compute_calibration_bins(joined["p"].to_numpy(), joined["y"].to_numpy())
                kinds["calibration"] = figures.plot_calibration(cal["pred"].to_numpy(), cal["observed"].to_numpy(),
                                                                cal["n"].to_numpy(), cap)
    items = [fig for fig in kinds.values() if fig is not None] + items
    return Section("model", "Early-response model (C1D15)",
                   "MLflow champion run; ml.early_response_predictions; marts.fct_ml_features", items=items)
