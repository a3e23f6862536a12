"""Time to progression (issue 28 item 3) on the built default trial: the Cox model on the C1D15
baseline and kinetic features, cross-validated against the baseline-only Cox model, is logged
as an MLflow run of its own beside the early-response model (same tracking store and
experiment), with a C-index above chance and its CI; the report's model section shows the
early-response model's numbers and both Cox models'.
"""

from __future__ import annotations

import dataclasses

import pytest

from cfz_platform.ml import tracking
from cfz_platform.ml.scoring import score_with_champion
from cfz_platform.ml.spec import load_spec
from cfz_platform.ml.train import train_early_response
from cfz_platform.ml.ttp_training import MODEL_KIND, train_ttp_model
from cfz_platform.report import build_report
from tests.report.html_parse import parse_report


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse):
    return trial_warehouse


@pytest.fixture(scope="module")
def fast_spec(warehouse_db):
    spec = load_spec()
    return dataclasses.replace(spec, cv={**spec.cv, "n_repeats": 3, "bootstrap": 200})


@pytest.fixture(scope="module")
def trained(fast_spec):
    response = train_early_response(fast_spec)
    score_with_champion(fast_spec)
    ttp = train_ttp_model(fast_spec)
    return response, ttp


def test_ttp_run_is_logged_beside_the_response_model(trained):
    response, ttp = trained
    client = tracking.configure()
    run, response_run = client.get_run(ttp.run_id), client.get_run(response.run_id)
    assert run.info.experiment_id == response_run.info.experiment_id
    assert run.info.run_id != response_run.info.run_id
    assert run.data.tags["model_kind"] == MODEL_KIND
    m = run.data.metrics
    assert m["cv_c_index"] > 0.5
    assert m["cv_c_index_ci_low"] < m["cv_c_index"] < m["cv_c_index_ci_high"]
    assert 0 < m["baseline_only_cv_c_index"] < 1
    assert m["kinetics_gain_c_index"] == pytest.approx(
        m["cv_c_index"] - m["baseline_only_cv_c_index"]
    )
    # every subject at risk on C1D15 counts, with the trial's progressions as events
    assert 0 < m["n_events"] < m["n_subjects"] <= 45


def test_validation_table_holds_the_run(trained, db):
    _, ttp = trained
    rows = {
        r[0]: r[1:]
        for r in db.execute(
            "select model, run_id, cv_c_index, cv_c_index_ci_low, cv_c_index_ci_high "
            "from ml.ttp_model_validation"
        )
    }
    assert set(rows) == {"cox_kinetic", "cox_baseline_only"}
    run_id, c, low, high = rows["cox_kinetic"]
    assert run_id == ttp.run_id
    assert (c, low, high) == pytest.approx(
        (
            ttp.metrics["cv_c_index"],
            ttp.metrics["cv_c_index_ci_low"],
            ttp.metrics["cv_c_index_ci_high"],
        )
    )


def test_report_model_section_shows_both_models(trained, tmp_path):
    _, ttp = trained
    parsed = parse_report(build_report(tmp_path / "report").read_text())
    section = parsed.sections["model"]
    metrics = {r["Metric"]: r["Value"] for r in section.table_with("Value")}
    assert float(metrics["ROC AUC"]) > 0.5  # the early-response model's apparent numbers
    cv = {r["Metric"]: r["Cross-validated"] for r in section.table_with("Cross-validated")}
    assert 0.5 < float(cv["ROC AUC (95% CI)"].split()[0]) <= 1  # and its cross-validated ones
    cox = {r["Model"]: r for r in section.table_with("CV C-index (95% CI)")}
    for label, result in (
        ("Cox, baseline + kinetic features", ttp.results["cox_kinetic"]),
        ("Cox, baseline features only", ttp.results["cox_baseline_only"]),
    ):
        assert cox[label]["CV C-index (95% CI)"] == (
            f"{result.c_index:.3f} ({result.ci_low:.3f}-{result.ci_high:.3f})"
        )
    assert ttp.run_id in section.text
