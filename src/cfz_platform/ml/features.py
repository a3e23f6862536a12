"""Load the feature mart and describe the data snapshot it came from."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import psycopg
from psycopg import sql

from cfz_platform.ml.spec import ModelSpec


class FeaturesError(RuntimeError):
    """The feature table is missing or unusable; the message says what to run."""


def _table_ident(qualified: str) -> sql.Composed:
    schema, table = qualified.split(".", 1)
    return sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))


def _build_hint(spec: ModelSpec) -> str:
    """The command that builds the spec's feature table: the published one by ``cfz
    transform``, a developer's by ``cfz dbt``."""
    schema, _, table = spec.features_table.partition(".")
    if schema == "marts":
        return "`cfz transform`"
    return f"`cfz dbt -- build -s +{table}`"


def load_features(conn: psycopg.Connection, spec: ModelSpec) -> pd.DataFrame:
    """Read the feature mart into a frame, one row per subject, sorted by ``usubjid``.

    Steps:
    1. select every row of ``spec.features_table`` (fails clearly, naming the command that
       builds it, when the table or a column the spec names is missing);
    2. cast feature columns to float (categoricals stay text) and labels to 0/1 (NULL kept);
    3. sort by subject so that the same data always gives the same frame.
    """
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("select * from {} order by usubjid").format(
                    _table_ident(spec.features_table)
                )
            )
            cols = [d.name for d in cur.description]
            rows = cur.fetchall()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName) as exc:
        conn.rollback()
        raise FeaturesError(
            f"{spec.features_table} does not exist: build it with {_build_hint(spec)} first"
        ) from exc
    missing = [c for c in [*spec.features, spec.label] if c not in cols]
    if missing:
        raise FeaturesError(
            f"{spec.features_table} has no column(s) {', '.join(missing)} that the model spec "
            f"names: add them to the feature mart and rebuild it with {_build_hint(spec)}, or "
            "remove them from models/early_response/spec.yaml"
        )
    frame = pd.DataFrame(rows, columns=cols)
    for col in spec.numeric_features:
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    for col in spec.categorical_features:
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    for col in ("label_pr", "label_mr", "label_vgpr"):
        if col in frame:
            frame[col] = frame[col].map({True: 1, False: 0}).astype("Int64")
    return frame.reset_index(drop=True)


def training_frame(frame: pd.DataFrame, spec: ModelSpec) -> tuple[pd.DataFrame, pd.Series]:
    """Features X and label y for the subjects whose label is known."""
    known = frame[frame[spec.label].notna()]
    return known[spec.features].copy(), known[spec.label].astype(int)


def snapshot_hash(frame: pd.DataFrame, spec: ModelSpec) -> str:
    """sha256 of the exact training data (subjects, features, label), order-independent.

    Steps: 1. keep usubjid + features + label; 2. sort by usubjid; 3. hash its CSV text.
    """
    cols = ["usubjid", *spec.features, spec.label]
    text = frame[cols].sort_values("usubjid").to_csv(index=False, float_format="%.10g")
    return hashlib.sha256(text.encode()).hexdigest()


def data_snapshot(conn: psycopg.Connection, frame: pd.DataFrame, spec: ModelSpec) -> dict:
    """The identity of the data behind a training run.

    Steps:
    1. the feature rows: count, label prevalence, snapshot hash;
    2. the deliveries loaded so far, with files and rows per delivery, from
       ``audit.ingest_files`` when that ledger exists (empty list otherwise).
    """
    deliveries: list[dict] = []
    with conn.cursor() as cur:
        cur.execute("select to_regclass('audit.ingest_files') is not null")
        if cur.fetchone()[0]:
            cur.execute(
                "select delivery_id, count(*) as files, coalesce(sum(rows_loaded), 0)::bigint as rows_loaded "
                "from audit.ingest_files where status = 'loaded' group by delivery_id order by delivery_id"
            )
            deliveries = [
                {"delivery_id": d, "files": int(f), "rows_loaded": int(r)}
                for d, f, r in cur.fetchall()
            ]
    labelled = frame[spec.label].dropna()
    return {
        "snapshot_hash": snapshot_hash(frame, spec),
        "features_table": spec.features_table,
        "n_subjects": int(len(frame)),
        "n_labelled": int(len(labelled)),
        "n_positive": int(labelled.sum()),
        "as_of_rule": spec.as_of_rule,
        "deliveries": deliveries,
        "last_delivery": deliveries[-1]["delivery_id"] if deliveries else None,
    }


def snapshot_json(snapshot: dict) -> str:
    return json.dumps(snapshot, indent=2, sort_keys=True)
