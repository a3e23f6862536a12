"""Batch scoring with the champion: ``ml.early_response_predictions``.

The table keeps every scoring run (``scoring_run_id``, ``scored_at``); ``is_current`` marks
the rows of the latest run, so BI can select ``where is_current``. ``bi_reader`` may read this
table (and use schema ``ml``), nothing else in ``ml``.

Threshold: ``predicted_class`` is true when ``probability >= decision_threshold`` (spec.yaml,
default 0.5: a response is more likely than not). It is stored on every row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from psycopg import sql

from cfz_platform.db import warehouse
from cfz_platform.ml import tracking
from cfz_platform.ml.bi_tables import comment_and_grant
from cfz_platform.ml.destination import is_published
from cfz_platform.ml.features import load_features
from cfz_platform.ml.spec import ModelSpec, load_spec

log = logging.getLogger(__name__)

SCHEMA = "ml"
TABLE = "early_response_predictions"

_DDL = """
create table if not exists {table} (
    scoring_run_id     uuid        not null,
    usubjid            text        not null,
    model_name         text        not null,
    model_version      text        not null,
    probability        double precision not null check (probability between 0 and 1),
    predicted_class    boolean     not null,
    decision_threshold double precision not null,
    as_of_date         date,
    scored_at          timestamptz not null,
    is_current         boolean     not null,
    feature_snapshot_hash text     not null,
    features           jsonb       not null,
    primary key (scoring_run_id, usubjid)
)
"""


class ScoringError(RuntimeError):
    """Scoring cannot proceed (no champion, no features); the message says what to run."""


@dataclass
class ScoreResult:
    scoring_run_id: str
    model_version: str
    n_scored: int
    n_predicted_responders: int
    threshold: float


def compute_feature_hash(frame: pd.DataFrame, columns: list[str]) -> str:
    """sha256 of the scored feature rows (usubjid + features), sorted by subject."""
    text = (
        frame[["usubjid", *columns]]
        .sort_values("usubjid")
        .to_csv(index=False, float_format="%.10g")
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _json_features(row: pd.Series) -> str:
    clean = {
        k: (None if (isinstance(v, float) and np.isnan(v)) or v is None else v)
        for k, v in row.items()
    }
    return json.dumps(clean, default=str)


#: The table's comment and one per column (``COMMENT ON``): what a BI tool's catalog shows.
TABLE_COMMENT = (
    "Early-response model predictions (models/early_response): one row per scoring run and "
    "response-evaluable subject; select where is_current for the latest run. Probability of "
    "a confirmed response >= PR by the end of cycle 4, from features as of C1D15."
)
COLUMN_COMMENTS = {
    "scoring_run_id": "Identifier of the scoring run (cfz score or the nightly) that wrote the row.",
    "usubjid": "Unique subject identifier (DM.USUBJID).",
    "model_name": "Registered MLflow model that scored the subject (early_response).",
    "model_version": "Registered version of the model (the champion at scoring time).",
    "probability": "Predicted probability of a confirmed response >= PR by the end of cycle 4 (0-1).",
    "predicted_class": "True when probability >= decision_threshold (response more likely than not).",
    "decision_threshold": "Probability threshold of predicted_class (spec.yaml decision_threshold).",
    "as_of_date": "Date the features are as of: first dose + 14 days (C1D15); no later data is used.",
    "scored_at": "When the scoring run wrote the row (UTC).",
    "is_current": "True for the rows of the latest scoring run; earlier runs are kept with false.",
    "feature_snapshot_hash": "sha256 of the scored feature rows (subjects and feature values) of the run.",
    "features": "The feature values the model scored for this subject (JSON object, name -> value).",
}


def ensure_predictions_table(cur, schema: str = SCHEMA) -> None:
    """Create ``<schema>.early_response_predictions`` if missing (``ml``, or an analysis
    cut's schema), comment it and every column, and grant ``bi_reader`` read access to it
    alone."""
    cur.execute(sql.SQL(_DDL).format(table=sql.Identifier(schema, TABLE)))
    comment_and_grant(cur, schema, TABLE, TABLE_COMMENT, COLUMN_COMMENTS)


def compute_prediction_rows(
    model, frame: pd.DataFrame, spec: ModelSpec, version: str
) -> tuple[list[tuple], int]:
    """The rows of one scoring run of ``model`` (registered ``version``) on the feature
    ``frame``, in the table's column order, and the number of predicted responders.

    Steps: 1. probabilities from ``predict_proba`` on the spec's features; 2. class =
    probability >= the spec's threshold; 3. one row per subject with a new run id, the
    score time, the feature values (json) and their hash, ``is_current`` true.
    """
    proba = model.predict_proba(frame[spec.features])[:, 1]
    feature_hash = compute_feature_hash(frame, spec.features)
    run_id = uuid.uuid4()
    scored_at = datetime.now(UTC)
    rows = [
        (
            run_id,
            subj,
            spec.registered_model,
            str(version),
            float(p),
            bool(p >= spec.decision_threshold),
            spec.decision_threshold,
            as_of,
            scored_at,
            True,
            feature_hash,
            _json_features(feats),
        )
        for subj, as_of, p, (_, feats) in zip(
            frame["usubjid"],
            frame["as_of_date"],
            proba,
            frame[spec.features].iterrows(),
            strict=True,
        )
    ]
    return rows, int((proba >= spec.decision_threshold).sum())


def insert_predictions(cur, rows: list[tuple], schema: str = SCHEMA) -> None:
    """Insert one scoring run's ``rows`` into ``<schema>.early_response_predictions``."""
    cur.executemany(
        sql.SQL(
            "insert into {} (scoring_run_id, usubjid, model_name, model_version, probability, "
            "predicted_class, decision_threshold, as_of_date, scored_at, is_current, "
            "feature_snapshot_hash, features) values "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb)"
        ).format(sql.Identifier(schema, TABLE)),
        rows,
    )


def score_with_champion(
    spec: ModelSpec | None = None, alias: str = tracking.CHAMPION
) -> ScoreResult:
    """Score every response-evaluable subject in the feature mart with the champion.

    Steps:
    0. refuse a spec whose feature table is not in the published ``marts`` (what BI reads
       must come from gated data);
    1. find the version holding ``alias`` in the registry (clear error when none: run
       ``cfz train``), load ``models:/<name>@<alias>``;
    2. read ``marts.fct_ml_features``; probabilities from ``predict_proba`` on the spec's
       features; class = probability >= the spec's threshold;
    3. in one transaction: create the table when missing (+ grants), mark earlier rows not
       current, insert this run's rows with the model version, score time and the feature
       values (jsonb) and their hash.
    """
    spec = spec or load_spec()
    if not is_published(spec.features_table):
        raise ScoringError(
            f"the model spec reads {spec.features_table}, not the published marts: scoring "
            f"writes {SCHEMA}.{TABLE}, which BI reads, so it scores only marts.*; set "
            "features_table back to marts.<table> (train on a dev build with `cfz train --dev`)"
        )
    client = tracking.configure()
    version = (
        tracking.current_champion(client, spec.registered_model)
        if alias == tracking.CHAMPION
        else None
    )
    if alias != tracking.CHAMPION:
        version = client.get_model_version_by_alias(spec.registered_model, alias)
    if version is None:
        raise ScoringError(
            f"no model version has the alias {alias!r} in {spec.registered_model!r}: run `cfz train` first"
        )
    model = tracking.load_registered_model(f"models:/{spec.registered_model}@{alias}")
    with warehouse.connect() as conn:
        frame = load_features(conn, spec)
        if frame.empty:
            raise ScoringError(f"{spec.features_table} is empty: nothing to score")
        rows, n_pos = compute_prediction_rows(model, frame, spec, str(version.version))
        with conn.cursor() as cur:
            ensure_predictions_table(cur)
            table = sql.Identifier(SCHEMA, TABLE)
            cur.execute(sql.SQL("update {} set is_current = false where is_current").format(table))
            insert_predictions(cur, rows)
        conn.commit()
    log.info(
        "scored %d subjects with %s v%s (%d predicted responders)",
        len(rows),
        spec.registered_model,
        version.version,
        n_pos,
    )
    return ScoreResult(
        str(rows[0][0]), str(version.version), len(rows), n_pos, spec.decision_threshold
    )
