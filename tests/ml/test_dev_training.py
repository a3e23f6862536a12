"""A model trained from a developer's build never reaches the production registry (issue 24
item 6): a spec pointed at ``dev_marts`` (edited by hand, or ``cfz train --dev``) makes a
development run in an experiment of its own that registers nothing, and scoring refuses it.

Real MLflow PostgreSQL store, real warehouse; the feature tables are written by hand (the
small synthetic cohort of test_training_registry.py), in ``marts`` and in ``dev_marts``.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml
from mlflow.exceptions import MlflowException

from cfz_platform.ml import tracking
from cfz_platform.ml.spec import load_spec, spec_path
from tests.ml.test_training_registry import _cohort, _write_features

DEV_TABLE = "dev_marts.fct_ml_features"


def _fast(spec):
    return dataclasses.replace(spec, cv={**spec.cv, "n_repeats": 2, "bootstrap": 100})


@pytest.fixture(scope="module")
def hand_edited_dev_spec(tmp_path_factory):
    """models/early_response/spec.yaml with ``features_table: dev_marts.fct_ml_features``, as
    the researcher of issue 28 edited it."""
    data = yaml.safe_load(spec_path().read_text())
    data["features_table"] = DEV_TABLE
    path = tmp_path_factory.mktemp("spec") / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return _fast(load_spec(path))


@pytest.fixture(scope="module")
def runs(warehouse_db, db, hand_edited_dev_spec, tmp_path_factory):
    """A production training on marts (v1, champion), then a development training on a
    different, better-separated cohort in dev_marts."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CFZ_MLFLOW_ARTIFACTS", str(tmp_path_factory.mktemp("mlartifacts")))
    from cfz_platform.ml.train import train_early_response

    _write_features(db, _cohort(1))
    production = train_early_response(_fast(load_spec()))
    _write_features(db, _cohort(2, n=60), table=DEV_TABLE)
    development = train_early_response(hand_edited_dev_spec)
    yield {"production": production, "development": development}
    mp.undo()


def test_spec_pointed_at_dev_marts_registers_nothing(runs):
    production, development = runs["production"], runs["development"]
    client = tracking.configure()
    assert production.model_version == "1" and production.promoted
    # the development run registered no version, and no alias moved
    versions = client.search_model_versions("name = 'early_response'")
    assert [v.version for v in versions] == [1]
    assert len(client.search_registered_models()) == 1
    assert client.get_model_version_by_alias("early_response", "champion").version == 1
    with pytest.raises(MlflowException):
        client.get_model_version_by_alias("early_response", "challenger")
    assert development.model_version is None and not development.promoted
    assert development.decision["alias"] is None
    assert "nothing registered" in development.decision["reason"]


def test_development_run_logs_to_an_experiment_of_its_own(runs):
    production, development = runs["production"], runs["development"]
    client = tracking.configure()
    dev_run = client.get_run(development.run_id)
    prod_run = client.get_run(production.run_id)
    dev_exp = client.get_experiment(dev_run.info.experiment_id)
    assert dev_exp.name == "early_response-dev"
    assert client.get_experiment(prod_run.info.experiment_id).name == "early_response"
    assert dev_run.info.experiment_id != prod_run.info.experiment_id
    tags = dev_run.data.tags
    assert tags["training_kind"] == "development" and tags["features_table"] == DEV_TABLE
    assert prod_run.data.tags["training_kind"] == "production"
    # trained on the dev build's 60 subjects (marts holds 48), its metrics and model kept on the run
    assert dev_run.data.metrics["n_subjects"] == 60 and dev_run.data.metrics["cv_auc"] > 0.7
    assert "promoted" not in dev_run.data.metrics
    import mlflow

    (logged,) = mlflow.search_logged_models(
        experiment_ids=[dev_exp.experiment_id], output_format="list"
    )
    assert logged.source_run_id == development.run_id
    # the production experiment holds only the production run
    prod_runs = client.search_runs([prod_run.info.experiment_id])
    assert [r.info.run_id for r in prod_runs] == [production.run_id]


def test_development_spec_is_never_skipped_as_already_trained(runs, hand_edited_dev_spec):
    from cfz_platform.ml.train import already_trained_version

    assert already_trained_version(_fast(load_spec())) == "1"
    assert already_trained_version(hand_edited_dev_spec) is None


def test_scoring_refuses_a_spec_reading_a_dev_build(runs, db, hand_edited_dev_spec):
    from cfz_platform.ml.scoring import ScoringError, score_with_champion

    with pytest.raises(ScoringError, match="dev_marts.fct_ml_features, not the published marts"):
        score_with_champion(hand_edited_dev_spec)
    assert db.execute("select to_regclass('ml.early_response_predictions')").fetchone()[0] is None


def test_train_dev_flow_names_the_dbt_command_when_the_dev_build_is_missing(
    runs, db, prefect_harness
):
    from cfz_platform.ml.features import FeaturesError
    from flows.train import train_early_response_flow

    db.execute(f"drop table {DEV_TABLE}")
    with pytest.raises(FeaturesError) as err:
        train_early_response_flow(dev=True)
    assert str(err.value) == (
        "dev_marts.fct_ml_features does not exist: build it with "
        "`cfz dbt -- build -s +fct_ml_features` first"
    )
    client = tracking.configure()
    assert [v.version for v in client.search_model_versions("name = 'early_response'")] == [1]


def test_model_card_is_generated_from_the_registered_run(runs, tmp_path):
    from cfz_platform.ml.model_card import write_model_card

    production = runs["production"]
    path = write_model_card(tmp_path / "MODEL_CARD.md", spec=_fast(load_spec()))
    text = path.read_text()
    m = production.metrics
    assert f"from MLflow run {production.run_id} (early_response v1)" in text
    assert "# Model card: `early_response` v1 (`champion`)" in text
    assert "trained on\n  48 labelled subjects" in text
    row = next(ln for ln in text.splitlines() if ln.startswith("| primary |"))
    assert f"| {m['cv_auc']:.3f} | {m['cv_auc_ci_low']:.3f}-{m['cv_auc_ci_high']:.3f} |" in row
    assert f"{m['cv_calibration_slope']:.2f} ({m['cv_calibration_slope_ci_low']:.2f}-" in row
    assert f"C = {m['primary_chosen_C']:.3g}, chosen by 3-fold inner CV" in text
    # the development run is nobody's card
    assert production.run_id != runs["development"].run_id


def test_predictions_table_is_commented_for_bi_tools(runs, db):
    """ml.early_response_predictions, readable by bi_reader, has a table comment and one on
    each of its 12 columns, as the marts do (issue 28: it had 0/12)."""
    import psycopg

    from cfz_platform.db import warehouse
    from cfz_platform.ml.scoring import score_with_champion

    score_with_champion(_fast(load_spec()))
    with psycopg.connect(warehouse.bi_settings().conninfo) as bi:
        table = bi.execute(
            "select obj_description('ml.early_response_predictions'::regclass, 'pg_class')"
        ).fetchone()[0]
        columns = bi.execute(
            "select a.attname, col_description(a.attrelid, a.attnum) from pg_attribute a "
            "where a.attrelid = 'ml.early_response_predictions'::regclass and a.attnum > 0 "
            "and not a.attisdropped order by a.attnum"
        ).fetchall()
    assert table and "is_current" in table
    assert len(columns) == 12 and all(text for _, text in columns), columns
