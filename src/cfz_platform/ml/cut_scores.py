"""The early-response model's scores frozen with an analysis cut (``cfz cut create``).

A cut holds its own ``early_response_predictions`` (the champion at cut time scored on the
cut's ``fct_ml_features``, the same DDL and comments as ``ml.early_response_predictions``)
and copies of the validation rows the report shows beside them (``early_response_validation``
of that version, ``ttp_model_validation``), so the cut's report reads nothing live from
``ml`` and never changes when the live model is retrained or re-scored.
"""

from __future__ import annotations

import dataclasses
import logging

import psycopg
from psycopg import sql

from cfz_platform.db.warehouse import WarehouseError
from cfz_platform.ml import response_validation, scoring, tracking, ttp_training
from cfz_platform.ml.features import load_features
from cfz_platform.ml.spec import ModelSpec, load_spec

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class CutScores:
    """What a cut's scoring did: the model version (None: no champion) and the reason."""

    model_version: str | None
    n_scored: int = 0
    note: str = ""


def score_cut_champion(
    conn: psycopg.Connection, schema: str, spec: ModelSpec | None = None
) -> CutScores:
    """Score the current champion on ``<schema>.fct_ml_features`` into
    ``<schema>.early_response_predictions`` and copy its validation rows into ``schema``.
    The caller commits.

    Steps:
    1. find the champion in the MLflow registry; none (or no tracking store): return
       ``CutScores(None, note=why)``, the schema gets no scores;
    2. load that version (``models:/<name>/<version>``, not the alias: it may move) and
       read the cut's feature mart (the spec with ``features_table`` in ``schema``);
    3. create the predictions table in ``schema`` (comments, ``bi_reader``) and insert one
       scoring run (``scoring.compute_prediction_rows``; no rows when the mart is empty);
    4. copy ``ml.early_response_validation`` (that version's row) and
       ``ml.ttp_model_validation`` into ``schema`` (``copy_validation``).
    """
    spec = spec or load_spec()
    try:
        client = tracking.configure()
    except WarehouseError as exc:
        return CutScores(None, note=f"the MLflow tracking store cannot be read ({exc})")
    version = tracking.current_champion(client, spec.registered_model)
    if version is None:
        return CutScores(
            None, note=f"no champion of {spec.registered_model} yet (train with `cfz train`)"
        )
    model = tracking.load_registered_model(f"models:/{spec.registered_model}/{version.version}")
    cut_spec = dataclasses.replace(spec, features_table=f"{schema}.fct_ml_features")
    frame = load_features(conn, cut_spec)
    rows, _ = (
        scoring.compute_prediction_rows(model, frame, cut_spec, str(version.version))
        if not frame.empty
        else ([], 0)
    )
    with conn.cursor() as cur:
        scoring.ensure_predictions_table(cur, schema)
        if rows:
            scoring.insert_predictions(cur, rows, schema)
        copy_validation(cur, schema, spec.registered_model, str(version.version))
    return CutScores(str(version.version), len(rows))


def copy_validation(cur: psycopg.Cursor, schema: str, model_name: str, version: str) -> None:
    """Copy the validation rows the report shows into ``schema``: the version's row of
    ``ml.early_response_validation`` and every row of ``ml.ttp_model_validation``, each
    table with its columns, comments and table comment (``like ... including all``); a
    source table that does not exist is skipped."""
    copies = (
        (response_validation.TABLE, "where model_name = %s and model_version = %s"),
        (ttp_training.TABLE, ""),
    )
    for table, where in copies:
        source = sql.Identifier(scoring.SCHEMA, table)
        cur.execute("select to_regclass(%s)", (f"{scoring.SCHEMA}.{table}",))
        if cur.fetchone()[0] is None:
            continue
        target = sql.Identifier(schema, table)
        cur.execute(sql.SQL("create table {} (like {} including all)").format(target, source))
        cur.execute(
            sql.SQL("insert into {} select * from {} " + where).format(target, source),
            (model_name, version) if where else None,
        )
        cur.execute(
            "select obj_description(%s::regclass, 'pg_class')", (f"{scoring.SCHEMA}.{table}",)
        )
        comment = cur.fetchone()[0]
        if comment:
            cur.execute(sql.SQL("comment on table {} is {}").format(target, sql.Literal(comment)))
