"""The early-response model's cross-validated performance, published for the report and BI.

A production training run (``train.train_early_response``) adds one row per registered
version to ``ml.early_response_validation``: the spec's repeated stratified CV of the whole
fitting procedure (nested for ``logistic_cv``), with 95% CIs. The report's model section
shows the row of the version that scored the current predictions; it never reads MLflow.
"""

from __future__ import annotations

from psycopg import sql

from cfz_platform.db import warehouse
from cfz_platform.ml.bi_tables import comment_and_grant

SCHEMA, TABLE = "ml", "early_response_validation"
#: column -> (type, comment); metric columns are the run's ``cv_*`` metrics of the same name
COLUMNS = {
    "model_name": ("text", "Registered MLflow model (early_response)."),
    "model_version": ("text", "Registered version the training run created."),
    "run_id": ("text", "MLflow training run of that version."),
    "n_subjects": ("integer", "Labelled subjects the model was cross-validated and fitted on."),
    "n_positive": ("integer", "Of them, responders (confirmed >= PR by the end of cycle 4)."),
    "cv_auc": ("double precision", "ROC AUC of the out-of-fold predictions (repeated stratified K-fold)."),
    "cv_auc_ci_low": ("double precision", "Lower bound of the CV AUC's 95% CI."),
    "cv_auc_ci_high": ("double precision", "Upper bound of the CV AUC's 95% CI."),
    "cv_calibration_slope": ("double precision", "Calibration slope of the out-of-fold predictions (1 is ideal)."),
    "cv_calibration_slope_ci_low": ("double precision", "Lower bound of the calibration slope's Wald 95% CI."),
    "cv_calibration_slope_ci_high": ("double precision", "Upper bound of the calibration slope's Wald 95% CI."),
    "cv_brier": ("double precision", "Brier score of the out-of-fold predictions (lower is better)."),
    "trained_at": ("timestamptz", "When the row was written (UTC)."),
}  # fmt: skip
TABLE_COMMENT = (
    "Cross-validated performance of each registered version of the early-response model "
    "(cfz train): the spec's repeated stratified CV of the whole fitting procedure, with 95% "
    "CIs. One row per version; the report shows the version that scored the current predictions."
)
METRICS = [c for c in COLUMNS if c.startswith("cv_")]


def publish_response_validation(
    model_name: str, model_version: str, run_id: str, metrics: dict[str, float]
) -> None:
    """Add (or replace) the version's row of ``ml.early_response_validation``, in one
    transaction (``write_response_validation``)."""
    with warehouse.connect() as conn, conn.transaction(), conn.cursor() as cur:
        write_response_validation(cur, model_name, model_version, run_id, metrics)


def write_response_validation(
    cur, model_name: str, model_version: str, run_id: str, metrics: dict[str, float]
) -> None:
    """Steps: 1. create the table when missing, comment it and grant ``bi_reader`` select;
    2. delete the version's earlier row; 3. insert the run's counts and ``cv_*`` metrics."""
    table = sql.Identifier(SCHEMA, TABLE)
    ddl = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(t)) for c, (t, _) in COLUMNS.items()
    )
    values = {
        "model_name": model_name,
        "model_version": str(model_version),
        "run_id": run_id,
        "n_subjects": int(metrics["n_subjects"]),
        "n_positive": int(metrics["n_positive"]),
        **{m: float(metrics[m]) for m in METRICS},
    }
    cur.execute(sql.SQL("create table if not exists {} ({})").format(table, ddl))
    comment_and_grant(
        cur, SCHEMA, TABLE, TABLE_COMMENT, {c: text for c, (_, text) in COLUMNS.items()}
    )
    cur.execute(
        sql.SQL("delete from {} where model_name = %s and model_version = %s").format(table),
        (model_name, str(model_version)),
    )
    cur.execute(
        sql.SQL("insert into {} ({}, trained_at) values ({}, now())").format(
            table,
            sql.SQL(", ").join(map(sql.Identifier, values)),
            sql.SQL(", ").join(sql.Placeholder() * len(values)),
        ),
        list(values.values()),
    )
