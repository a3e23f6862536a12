"""The dbt semantic layer (issue 28 item 4) on the built default trial: `cfz dbt -- ls` lists the
semantic models and metrics, and every metric queried through MetricFlow on the published marts
equals what the platform reports: ORR both ways, BOR counts, TTP events and the DLT count as
rpt_study_endpoints (overall and by group), the DLT rate per dose level as fct_dose_escalation,
TEAE incidence by grade as counted from fct_adverse_events and dim_subject.
"""

from __future__ import annotations

import pytest

from cfz_platform.transform.semantic_layer import query_metrics
from tests.conftest import run_cfz

SEMANTIC_MODELS = {"subjects", "best_responses", "adverse_events", "time_to_event"}
METRICS = {
    "orr_protocol",
    "orr_conventional",
    "response_evaluable_subjects",
    "clinical_benefit_subjects",
    "responder_subjects",
    "bor_subjects",
    "dlt_evaluable_subjects",
    "dlt_subjects",
    "dlt_rate",
    "safety_subjects",
    "teae_subjects",
    "teae_incidence",
    "teae_incidence_grade_3_plus",
    *(f"teae_incidence_grade_{g}" for g in range(1, 6)),
    "ttp_subjects",
    "ttp_events",
    "ttp_censored",
}
GROUP = "subject__analysis_group"


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse):
    return trial_warehouse


@pytest.fixture(scope="module")
def endpoints(db) -> dict[tuple[str, str], dict]:
    cur = db.execute("select * from marts.rpt_study_endpoints")
    names = [d.name for d in cur.description]
    rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    return {(r["endpoint"], r["population"]): r for r in rows}


def _population(group: str | None) -> str:
    return "OVERALL" if group is None else f"GROUP {group}"


def test_dbt_ls_lists_semantic_models_and_metrics(db):
    models = run_cfz("dbt", "--", "ls", "--resource-type", "semantic_model", "--quiet").stdout
    metrics = run_cfz("dbt", "--", "ls", "--resource-type", "metric", "--quiet").stdout
    assert {f"semantic_model:cfz.{m}" for m in SEMANTIC_MODELS} <= set(models.split())
    assert {f"metric:cfz.{m}" for m in METRICS} <= set(metrics.split())


def test_response_and_ttp_metrics_equal_rpt_study_endpoints(endpoints):
    names = [
        "orr_protocol",
        "orr_conventional",
        "response_evaluable_subjects",
        "clinical_benefit_subjects",
        "responder_subjects",
        "ttp_subjects",
        "ttp_events",
        "ttp_censored",
    ]
    rows = query_metrics(names).records() + query_metrics(names, [GROUP]).records()
    assert len(rows) >= 3  # overall plus both groups
    for row in rows:
        pop = _population(row.get(GROUP))
        orr_p, orr_c = endpoints[("ORR_PROTOCOL", pop)], endpoints[("ORR_CONVENTIONAL", pop)]
        ttp = endpoints[("MEDIAN_TTP", pop)]
        assert row["response_evaluable_subjects"] == orr_p["n_subjects"], pop
        assert row["clinical_benefit_subjects"] == orr_p["n_count"], pop
        assert row["responder_subjects"] == orr_c["n_count"], pop
        assert row["orr_protocol"] == pytest.approx(orr_p["estimate"]), pop
        assert row["orr_conventional"] == pytest.approx(orr_c["estimate"]), pop
        assert (row["ttp_subjects"], row["ttp_events"], row["ttp_censored"]) == (
            ttp["n_subjects"],
            ttp["n_events"],
            ttp["n_censored"],
        ), pop
    # the two definitions differ on this trial (MR responders), so neither stands for the other
    overall = next(r for r in rows if GROUP not in r)
    assert overall["orr_protocol"] > overall["orr_conventional"]


def test_bor_counts_equal_rpt_study_endpoints(endpoints):
    rows = query_metrics(["bor_subjects"], ["subject__best_response", GROUP]).records()
    rows += query_metrics(["bor_subjects"], ["subject__best_response"]).records()
    got = {
        (f"BOR_{r['subject__best_response'].upper()}", _population(r.get(GROUP))): r["bor_subjects"]
        for r in rows
    }
    expected = {
        key: row["n_count"]
        for key, row in endpoints.items()
        if key[0].startswith("BOR_") and row["n_count"]
    }
    assert expected  # the trial has best responses
    assert got == expected


def test_dlt_metrics_equal_dose_escalation_and_dlt_count(db, endpoints):
    by_level = query_metrics(
        ["dlt_rate", "dlt_subjects", "dlt_evaluable_subjects"], ["subject__dose_level"]
    ).records()
    escalation = {
        float(level): (evaluable, with_dlt)
        for level, evaluable, with_dlt in db.execute(
            "select dose_level, n_dlt_evaluable, n_with_dlt from marts.fct_dose_escalation"
        )
    }
    got = {
        float(r["subject__dose_level"]): (r["dlt_evaluable_subjects"], r["dlt_subjects"])
        for r in by_level
        if r["dlt_evaluable_subjects"]
    }
    assert got == {level: v for level, v in escalation.items() if v[0]}
    for r in by_level:
        if r["dlt_evaluable_subjects"]:
            assert r["dlt_rate"] == pytest.approx(r["dlt_subjects"] / r["dlt_evaluable_subjects"])
    assert any(r["dlt_subjects"] for r in by_level)  # the trial has DLTs
    (overall,) = query_metrics(["dlt_subjects", "dlt_evaluable_subjects"]).records()
    dlt_count = endpoints[("DLT_COUNT", "OVERALL")]
    assert (overall["dlt_evaluable_subjects"], overall["dlt_subjects"]) == (
        dlt_count["n_subjects"],
        dlt_count["n_count"],
    )


def test_teae_incidence_by_grade_equals_the_adverse_events_mart(db):
    safety = db.execute("select count(*) from marts.dim_subject where saffl").fetchone()[0]
    subjects_by_grade = dict(
        db.execute(
            "select a.aetoxgr, count(distinct a.usubjid) from marts.fct_adverse_events a "
            "join marts.dim_subject d using (usubjid) where a.is_teae and d.saffl "
            "group by a.aetoxgr"
        ).fetchall()
    )
    any_grade, grade_3_plus = db.execute(
        "select count(distinct a.usubjid), count(distinct a.usubjid) filter (where a.aetoxgr >= 3) "
        "from marts.fct_adverse_events a join marts.dim_subject d using (usubjid) "
        "where a.is_teae and d.saffl"
    ).fetchone()
    assert safety and grade_3_plus
    names = [f"teae_incidence_grade_{g}" for g in range(1, 6)]
    (row,) = query_metrics(
        ["safety_subjects", "teae_incidence", "teae_incidence_grade_3_plus", *names]
    ).records()
    assert row["safety_subjects"] == safety
    assert row["teae_incidence"] == pytest.approx(any_grade / safety)
    assert row["teae_incidence_grade_3_plus"] == pytest.approx(grade_3_plus / safety)
    for g in range(1, 6):
        assert (row[f"teae_incidence_grade_{g}"] or 0) == pytest.approx(
            subjects_by_grade.get(g, 0) / safety
        ), g
    by_grade = query_metrics(["teae_subjects"], ["adverse_event__grade"]).records()
    assert {r["adverse_event__grade"]: r["teae_subjects"] for r in by_grade} == subjects_by_grade


def test_cfz_mf_query_prints_the_metric(endpoints):
    out = run_cfz("mf", "--", "query", "--metrics", "orr_protocol", "--quiet").stdout
    assert f"{endpoints[('ORR_PROTOCOL', 'OVERALL')]['estimate']:.4f}"[:5] in out
