"""Issue 15, item 1: a trial with a waiver publishes through the real gates, and its endpoints
count only their population (domain.md 4 "Populations").

The hand-written five-subject trial of tests/response/waiver_trial.py goes through the real
pipeline: ingestion, raw gate, dbt build into marts_candidate, rpt_* tables, mart gate,
publish. Before the fix the KM endpoints read every time-to-event row without the population
flag, so the waiver entered MEDIAN_TTP, ``km_endpoints_only_response_evaluable`` failed and
this trial could never publish.
"""

from __future__ import annotations

import os
from datetime import date

import pytest

from tests.response import waiver_trial as t

os.environ["GX_ANALYTICS_ENABLED"] = "false"

ELIGIBLE = [t.usubjid(n) for n in ("0001", "0002", "0004")]
WAIVER, PARTIAL = t.usubjid("0003"), t.usubjid("0005")


@pytest.fixture(scope="module")
def published(warehouse_db, tmp_path_factory):
    from cfz_platform.ingest import run_ingest
    from cfz_platform.transform.pipeline import run_transform

    mp = pytest.MonkeyPatch()
    mp.setenv("CFZ_GX_PROJECT_DIR", str(tmp_path_factory.mktemp("gx")))
    landing = t.write_waiver_trial(tmp_path_factory.mktemp("landing"))
    run_ingest(landing)
    result = run_transform(run_id="waiver1")
    yield result
    mp.undo()


def _rows(db, query: str) -> list[tuple]:
    return db.execute(query).fetchall()


def test_the_trial_publishes_through_both_gates(published):
    assert published.published
    assert [r.passed for r in published.reports] == [True, True]


def test_populations_on_dim_subject(published, db):
    rows = {
        r[0]: r[1:]
        for r in _rows(
            db,
            "select usubjid, saffl, is_eligible, respevalfl, criteria_not_met "
            "from marts.dim_subject",
        )
    }
    assert {u for u, r in rows.items() if r[0]} == set(ELIGIBLE) | {
        WAIVER,
        PARTIAL,
    }  # safety: all treated
    assert sorted(u for u, r in rows.items() if r[2]) == ELIGIBLE  # response-evaluable
    assert rows[WAIVER][1:] == (False, False, "E3") and rows[PARTIAL][1:] == (False, False, "E3")


def test_e3_partial_date_is_not_evaluable_with_evidence(published, db):
    ((status, evidence),) = _rows(
        db,
        "select status, evidence from marts.fct_eligibility "
        f"where usubjid = '{PARTIAL}' and criterion_id = 'E3'",
    )
    assert status == "not_evaluable"
    assert "2025-09" in evidence and "depends on the missing day" in evidence
    ((status,),) = _rows(
        db,
        f"select status from marts.fct_eligibility where usubjid = '{WAIVER}' "
        "and criterion_id = 'E3'",
    )
    assert status == "not_met"


def test_derivations_exist_for_every_treated_subject(published, db):
    """The waiver and the not-evaluable subject keep their best response, TTP row and AEs."""
    bor = dict(_rows(db, "select usubjid, best_response from marts.fct_best_response"))
    assert bor == {
        t.usubjid("0001"): "PR",
        t.usubjid("0002"): "SD",
        WAIVER: "PR",
        t.usubjid("0004"): "PR",
        PARTIAL: "PR",
    }
    ttp = {
        r[0]: r[1:]
        for r in _rows(
            db, "select usubjid, aval, cnsr from marts.fct_time_to_event where paramcd = 'TTP'"
        )
    }
    assert set(ttp) == set(bor)
    assert ttp[t.usubjid("0002")] == (57, 0)  # PD on 2026-03-02: AVAL = ADT - STARTDT + 1
    assert ttp[WAIVER] == (85, 1)  # censored at the last assessment, 2026-03-30
    teae = {r[0] for r in _rows(db, "select usubjid from marts.fct_adverse_events where is_teae")}
    assert teae == set(bor)


def test_endpoints_count_only_the_response_evaluable(published, db):
    rows = {
        (r[0], r[1]): r[2:]
        for r in _rows(
            db,
            "select endpoint, population, n_subjects, n_count, n_events, analysis_population, population_flag "
            "from marts.rpt_study_endpoints",
        )
    }
    assert rows[("ORR_CONVENTIONAL", "OVERALL")] == (3, 2, None, "response-evaluable", "respevalfl")
    assert rows[("ORR_PROTOCOL", "GROUP A")][:2] == (3, 2)
    assert rows[("BOR_PR", "OVERALL")][:2] == (3, 2)
    assert rows[("BOR_SD", "OVERALL")][:2] == (3, 1)
    assert rows[("MEDIAN_TTP", "OVERALL")] == (3, None, 1, "response-evaluable", "respevalfl")
    assert rows[("DLT_COUNT", "OVERALL")][3:] == ("DLT-evaluable", "dltevalfl")
    assert all(r[3] is not None for r in rows.values())


def test_held_carfilzomib_on_c1d1_does_not_move_the_first_dose(published, db):
    """0004: carfilzomib held on C1D1, dexamethasone given: TRTSDT is C1D1, its C1D1 serum M is
    the baseline, the C1D2 value is on treatment, and cycle 1 starts on C1D1."""
    s = t.usubjid("0004")
    ((first, baseline, c1_given),) = _rows(
        db,
        "select first_dose_date, baseline_serum_m, cycle1_doses_given "
        f"from marts.dim_subject where usubjid = '{s}'",
    )
    assert first == date(2026, 1, 5) and float(baseline) == 2.5 and c1_given == 5
    ((start,),) = _rows(
        db, f"select cycle_start_date from marts.fct_cycles where usubjid = '{s}' and cycle = 1"
    )
    assert start == date(2026, 1, 5)
    days = [
        r[0]
        for r in _rows(
            db, f"select ady from marts.fct_response_assessments where usubjid = '{s}' order by ady"
        )
    ]
    assert days[0] == 2  # the C1D2 result is the first on-treatment assessment
