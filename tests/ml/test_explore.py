"""The translational researcher's loop (issue 28 item 1) on the built default trial: `cfz dbt`
builds the feature mart in dev_marts with its tests, the explore API screens and compares
feature sets with the model card's own CV, and the notebook runs end to end on the dev build
without touching the published marts or the model registry.
"""

from __future__ import annotations

import dataclasses
import re

import nbformat
import pytest
from nbclient import NotebookClient

from cfz_platform.ml import explore, tracking
from cfz_platform.ml.spec import load_spec
from tests.conftest import ROOT, run_cfz

NOTEBOOK = ROOT / "notebooks" / "exploring_predictors.ipynb"


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse):
    return trial_warehouse


@pytest.fixture(scope="module")
def fast_spec():
    spec = load_spec()
    return dataclasses.replace(spec, cv={**spec.cv, "n_repeats": 2, "bootstrap": 200})


def _summary(stdout: str) -> dict[str, int]:
    (line,) = [ln for ln in stdout.splitlines() if "Done. PASS=" in ln]
    return {k: int(v) for k, v in re.findall(r"(PASS|WARN|ERROR|SKIP)=(\d+)", line)}


@pytest.fixture(scope="module")
def dev_feature_build(db):
    """`cfz dbt -- build -s fct_ml_features` on a warehouse with no dev_* schema at all."""
    assert db.execute("select to_regnamespace('dev_marts')").fetchone()[0] is None
    return run_cfz("dbt", "--", "build", "-s", "fct_ml_features", check=False)


def test_cfz_dbt_builds_the_feature_mart_alone_with_its_unit_test(dev_feature_build, db):
    proc = dev_feature_build
    assert proc.returncode == 0, proc.stdout[-3000:]
    # the project's on-run-start hook (only cfz transform writes published schemas), the
    # model and its unit test (label confirmed by the end of cycle 4); the key's uniqueness
    # and not-null are the table's primary key, not data tests
    assert _summary(proc.stdout) == {"PASS": 3, "WARN": 0, "ERROR": 0, "SKIP": 0}
    assert db.execute(
        "select contype from pg_constraint where conrelid = 'dev_marts.fct_ml_features'::regclass"
    ).fetchall() == [("p",)]
    assert "PASS fct_ml_features::early_response_label_needs_confirmation" in proc.stdout
    # the parents it did not build were read from the published schemas: the same rows
    diff = db.execute(
        "select count(*) from ((select * from dev_marts.fct_ml_features except "
        "select * from marts.fct_ml_features) union all (select * from marts.fct_ml_features "
        "except select * from dev_marts.fct_ml_features)) d"
    ).fetchone()[0]
    assert diff == 0
    assert db.execute("select count(*) from dev_marts.fct_ml_features").fetchone()[0] == 45
    assert db.execute("select to_regclass('dev_marts.dim_subject')").fetchone()[0] is None


def test_cfz_dbt_builds_the_feature_mart_with_its_parents_and_every_test(dev_feature_build, db):
    proc = run_cfz("dbt", "--", "build", "-s", "+fct_ml_features", check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    summary = _summary(proc.stdout)
    assert summary["ERROR"] == 0 and summary["PASS"] > 40
    # relationship tests on marts outside the selection ran against the published ones
    assert re.search(r"PASS relationships_fct_adverse_events_usubjid", proc.stdout)
    assert db.execute("select to_regclass('dev_marts.dim_subject')").fetchone()[0] is not None


def test_univariate_table_finds_the_c1d15_fall(db, fast_spec):
    frame = explore.load_feature_frame("marts", fast_spec)
    table = explore.compute_univariate_table(frame, spec=fast_spec).set_index("feature")
    assert set(table.index) == set(fast_spec.numeric_features)
    labelled = int(frame[fast_spec.label].notna().sum())
    assert table.loc["pct_change_c1d15", "n"] == labelled
    # a deeper fall (more negative % change) goes with response: AUC and OR well below 1
    fall = table.loc["pct_change_c1d15"]
    assert fall["auc_ci_high"] < 0.2 and fall["or_ci_high"] < 1 and fall["p_value"] < 0.01
    assert table.index[0] in {"pct_change_c1d15", "log_m_slope_per_day", "pct_change_c1d8"}
    ok = table.dropna(subset=["auc_ci_low"])
    assert ((ok.auc_ci_low <= ok.auc) & (ok.auc <= ok.auc_ci_high)).all()
    assert ((ok.or_ci_low <= ok.odds_ratio_per_sd) & (ok.odds_ratio_per_sd <= ok.or_ci_high)).all()


def test_feature_sets_are_compared_with_the_model_cards_own_cv(db, fast_spec):
    from cfz_platform.ml.features import training_frame
    from cfz_platform.ml.train import candidate_pipelines, start_candidate_cvs

    frame = explore.load_feature_frame("marts", fast_spec)
    sets = {"model card": fast_spec.features, **fast_spec.comparison_feature_sets}
    table = explore.compare_feature_sets(frame, sets, fast_spec).set_index("feature_set")
    X, y = training_frame(frame, fast_spec)
    reference = start_candidate_cvs(fast_spec, candidate_pipelines(fast_spec), X, y).results()
    for name, ref in (("model card", "primary"), ("baseline_only", "baseline_only")):
        for key, value in reference[ref].metrics().items():
            assert table.loc[name, key] == value, (name, key)
    assert table.loc["model card", "auc_gain"] == 0
    assert table.loc["model card", "cv_repeats"] == 2


def test_notebook_runs_on_the_dev_build_and_touches_neither_marts_nor_registry(
    dev_feature_build, db, monkeypatch
):
    """A candidate column in the dev feature mart (as a researcher adds one) is screened and
    compared by the notebook; nothing is published, registered or logged to production."""
    db.execute(
        "alter table dev_marts.fct_ml_features add column if not exists candidate_marker "
        "double precision"
    )
    db.execute(
        "update dev_marts.fct_ml_features set candidate_marker = "
        "(abs(hashtext(usubjid)) % 1000)::double precision"
    )
    published = db.execute(
        "select md5(string_agg(t::text, '|' order by usubjid)) from marts.fct_ml_features t"
    ).fetchone()
    monkeypatch.setenv("CFZ_EXPLORE_SCHEMA", "dev_marts")
    monkeypatch.delenv("CFZ_EXPLORE_TRAIN", raising=False)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parent)}},
    ).execute()
    text = "\n".join(
        out.get("text", "") + out.get("data", {}).get("text/plain", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "dev_marts.fct_ml_features: 45 response-evaluable subjects" in text
    assert "C1D15 for every subject" in text
    assert "candidates: ['candidate_marker']" in text
    assert "model card + candidates" in text and "kinetics_only" in text
    assert re.search(r"candidate_marker\s+45\s+24", text)
    assert (
        db.execute(
            "select md5(string_agg(t::text, '|' order by usubjid)) from marts.fct_ml_features t"
        ).fetchone()
        == published
    )
    client = tracking.configure()
    assert client.search_registered_models() == []
