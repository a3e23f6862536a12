"""Training, MLflow registry (champion / challenger), and scoring into the warehouse.

The feature mart is written by hand here (a small synthetic cohort whose response depends
on the C1D15 M-protein fall), so these tests exercise the model code, the real MLflow
PostgreSQL store and the real warehouse grants; the dbt chain is covered in
test_features_leakage.py.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

from cfz_platform.db import warehouse
from cfz_platform.ml import tracking
from cfz_platform.ml.spec import load_spec

N = 48


def _cohort(seed: int, n: int = N) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    fall = rng.uniform(-80, 20, n)
    label = fall + rng.normal(0, 20, n) < -35
    first = pd.Timestamp("2026-02-01") + pd.to_timedelta(np.arange(n) * 3, unit="D")
    frame = pd.DataFrame(
        {
            "usubjid": [f"S-{i:03d}" for i in range(n)],
            "as_of_date": (first + pd.Timedelta(days=14)).date,
            "first_dose_date": first.date,
            "group_label": np.where(np.arange(n) % 3 == 0, "B", "A"),
            "dose_level": rng.choice([20.0, 27.0, 36.0, 45.0], n),
            "baseline_b2m": rng.lognormal(1.2, 0.4, n),
            "baseline_albumin": rng.normal(3.6, 0.4, n),
            "iss_stage": rng.integers(1, 4, n),
            "baseline_serum_m": rng.uniform(1, 5, n),
            "baseline_urine_m": rng.uniform(0, 300, n),
            "baseline_involved_flc": rng.uniform(2, 60, n),
            "ecog_baseline": rng.integers(0, 3, n),
            "driving_parameter": "SERUM_M",
            "pct_change_c1d8": fall / 2 + rng.normal(0, 5, n),
            "pct_change_c1d15": fall,
            "log_m_slope_per_day": np.log1p(fall / 100) / 14,
            "n_kinetic_points": 3,
            "label_cutoff_date": (first + pd.Timedelta(days=111)).date,
            "label_pr": label,
            "label_mr": label,
            "label_vgpr": label & (fall < -60),
        }
    )
    frame.loc[frame.index % 7 == 3, "pct_change_c1d8"] = np.nan  # missed C1D8 sample
    return frame


def _write_features(
    conn: psycopg.Connection, frame: pd.DataFrame, table: str = "marts.fct_ml_features"
) -> None:
    cols = list(frame.columns)
    with conn.cursor() as cur:
        cur.execute(f"create schema if not exists {table.split('.')[0]}")
        cur.execute(f"drop table if exists {table}")
        cur.execute(
            f"create table {table} (usubjid text primary key, as_of_date date, first_dose_date date, "
            "group_label text, dose_level double precision, baseline_b2m double precision, "
            "baseline_albumin double precision, iss_stage integer, baseline_serum_m double precision, "
            "baseline_urine_m double precision, baseline_involved_flc double precision, ecog_baseline integer, "
            "driving_parameter text, pct_change_c1d8 double precision, pct_change_c1d15 double precision, "
            "log_m_slope_per_day double precision, n_kinetic_points integer, label_cutoff_date date, "
            "label_pr boolean, label_mr boolean, label_vgpr boolean)"
        )
        rows = [
            tuple(
                None
                if (isinstance(v, float) and np.isnan(v))
                else (v.item() if hasattr(v, "item") else v)
                for v in r
            )
            for r in frame.itertuples(index=False)
        ]
        cur.executemany(
            f"insert into {table} ({', '.join(cols)}) values ({', '.join(['%s'] * len(cols))})",
            rows,
        )


@pytest.fixture(scope="module")
def fast_spec():
    spec = load_spec()
    return dataclasses.replace(spec, cv={**spec.cv, "n_repeats": 2, "bootstrap": 100})


@pytest.fixture(scope="module")
def trained(warehouse_db, db, fast_spec, tmp_path_factory):
    """Two trainings on identical data, then one on changed data."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CFZ_MLFLOW_ARTIFACTS", str(tmp_path_factory.mktemp("mlartifacts")))
    from cfz_platform.ml.train import train_early_response

    _write_features(db, _cohort(1))
    first = train_early_response(fast_spec)
    second = train_early_response(fast_spec)
    yield {"first": first, "second": second}
    mp.undo()


def test_first_training_becomes_champion_with_honest_metrics(trained):
    first = trained["first"]
    assert first.promoted and first.decision["reason"] == "no champion yet"
    m = first.metrics
    # the signal is the C1D15 fall: the full and kinetics-only models see it, baseline-only does not
    assert m["cv_auc"] > 0.8 and m["kinetics_only_cv_auc"] > 0.8
    assert m["baseline_only_cv_auc"] < 0.75
    assert m["cv_auc_ci_low"] <= m["cv_auc"] <= m["cv_auc_ci_high"]
    assert 0 < m["cv_brier"] < 0.25
    assert first.snapshot["n_labelled"] == N


def test_logged_metrics_and_oof_predictions_are_the_plain_cv_of_each_candidate(trained, fast_spec):
    """The run logs, for every candidate, exactly the metrics and out-of-fold probabilities of
    the plain serial CV (tests/ml/test_cv_identity.py), although its fold fits ran in a pool
    beside the full-data fit and the MLflow set-up."""
    import mlflow

    from cfz_platform.ml.features import training_frame
    from cfz_platform.ml.train import candidate_pipelines, compute_cv_settings
    from tests.ml.test_cv_identity import reference_cv

    frame = _cohort(1)
    for col in ("label_pr", "label_mr", "label_vgpr"):
        frame[col] = frame[col].astype(int)
    X, y = training_frame(frame, fast_spec)
    settings = compute_cv_settings(fast_spec, len(y))
    oof_logged = pd.read_csv(
        mlflow.artifacts.download_artifacts(
            run_id=trained["first"].run_id, artifact_path="evaluation/oof_predictions.csv"
        )
    )
    prefixes = {"primary": "cv_", "comparator": "comparator_cv_"}
    for name, pipe in candidate_pipelines(fast_spec).items():
        metrics, oof, _ = reference_cv(pipe, X, y, **settings)
        prefix = prefixes.get(name, f"{name}_cv_")
        logged = {k: trained["first"].metrics[prefix + k] for k in metrics}
        assert logged == metrics, name
        assert np.array_equal(oof_logged[f"oof_{name}"].to_numpy(), oof), name


def test_second_training_on_identical_data_keeps_the_champion(trained):
    client = tracking.configure()
    first, second = trained["first"], trained["second"]
    assert second.snapshot["snapshot_hash"] == first.snapshot["snapshot_hash"]
    assert not second.promoted
    assert second.decision["compared_on"] == "same_snapshot"
    assert second.decision["alias"] == "challenger"
    champ = client.get_model_version_by_alias("early_response", "champion")
    assert str(champ.version) == first.model_version
    assert (
        str(client.get_model_version_by_alias("early_response", "challenger").version)
        == second.model_version
    )
    run = client.get_run(second.run_id)
    assert "does not beat" in run.data.tags["registry_decision"]


def test_retraining_is_skipped_only_while_data_and_spec_are_unchanged(trained, fast_spec):
    from cfz_platform.ml.train import already_trained_version

    # the newest version was trained on exactly this feature table and spec: nothing to redo
    assert already_trained_version(fast_spec) == trained["second"].model_version
    # another spec (more CV repeats) on the same data is a different training
    assert (
        already_trained_version(dataclasses.replace(fast_spec, cv={**fast_spec.cv, "n_repeats": 3}))
        is None
    )


def test_run_holds_metrics_plots_snapshot_and_model(trained):
    import mlflow

    client = tracking.configure()
    run = client.get_run(trained["first"].run_id)
    for key in (
        "cv_auc",
        "cv_auc_ci_low",
        "cv_brier",
        "cv_calibration_slope",
        "cv_calibration_intercept",
        "comparator_cv_auc",
        "baseline_only_cv_auc",
        "kinetics_only_cv_auc",
    ):
        assert key in run.data.metrics, key
    arts = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    for name in (
        "roc.png",
        "calibration.png",
        "coefficients.png",
        "permutation_importance.png",
        "features.json",
        "data_snapshot.json",
        "oof_predictions.csv",
    ):
        assert f"evaluation/{name}" in arts, name
    local = Path(
        mlflow.artifacts.download_artifacts(
            run_id=run.info.run_id, artifact_path="evaluation/features.json"
        )
    )
    feats = json.loads(local.read_text())
    assert "pct_change_c1d15" in feats["features"] and "C1D15" in feats["as_of_rule"]
    decision = mlflow.artifacts.load_dict(f"runs:/{run.info.run_id}/champion_decision.json")
    assert decision["promoted"] is True
    mv = client.get_model_version("early_response", trained["first"].model_version)
    info = mlflow.models.get_model_info(mv.source)
    assert info.signature is not None and "pct_change_c1d15" in info.signature.inputs.input_names()
    assert info.saved_input_example_info is not None


def test_scoring_writes_predictions_readable_by_bi_reader(trained, db, prefect_harness):
    from flows.score import score_early_response_flow

    result = score_early_response_flow()
    assert result["model_version"] == trained["first"].model_version and result["n_scored"] == N
    bi = warehouse.bi_settings()
    with psycopg.connect(bi.conninfo) as conn:
        rows = conn.execute(
            "select usubjid, model_version, probability, predicted_class, decision_threshold, features "
            "from ml.early_response_predictions where is_current order by usubjid"
        ).fetchall()
        assert len(rows) == N
        assert all(r[3] == (r[2] >= r[4]) for r in rows)
        by_subject = {r[0]: r for r in rows}
        # a deep C1D15 fall is predicted to respond, a rise is not
        cohort = _cohort(1).set_index("usubjid")
        deep, rise = cohort["pct_change_c1d15"].idxmin(), cohort["pct_change_c1d15"].idxmax()
        assert by_subject[deep][3] and not by_subject[rise][3]
        assert by_subject[deep][5]["pct_change_c1d15"] == pytest.approx(
            cohort.loc[deep, "pct_change_c1d15"]
        )
    db.execute("create table if not exists ml.private_scratch (x int)")
    with psycopg.connect(bi.conninfo) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from ml.private_scratch")


def test_new_data_is_compared_on_the_new_data(trained, db, fast_spec):
    from cfz_platform.ml.train import train_early_response

    _write_features(db, _cohort(2, n=60))
    from cfz_platform.ml.train import already_trained_version

    assert already_trained_version(fast_spec) is None  # new data: the nightly trains
    third = train_early_response(fast_spec)
    assert third.decision["compared_on"] == "re-evaluated"
    assert third.decision["champion_cv_auc_on_this_data"] is not None
    # same pipeline configuration on the same new data: a tie, won by the version fitted on it
    assert third.promoted
    client = tracking.configure()
    assert (
        str(client.get_model_version_by_alias("early_response", "champion").version)
        == third.model_version
    )
