"""The marts against the simulator's ground truth (default trial, 45 subjects + screen failures).

Real pipeline, run once per session for every module that reads this trial
(tests/trial_template.py): `cfz simulate` writes feeds, ingestion loads them into the raw
layer, `run_transform` runs the raw gate, dbt builds staging and marts and runs every data
test, the mart gate passes and the build is published. This module reads a copy of that
warehouse and compares the marts with truth/. (The dbt unit tests run in
tests/transform/test_dbt_unit_tests.py.)
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse: str) -> str:
    """This module's warehouse is a copy of the session's built default trial."""
    return trial_warehouse


@pytest.fixture(scope="module")
def built(warehouse_db, built_trial_template) -> Path:
    """The built trial's truth folder (simulated, ingested and published once per session)."""
    return built_trial_template.truth


def _truth_subjects(truth: Path) -> list[dict[str, str]]:
    with open(truth / "subjects.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_screen_failures_are_exactly_the_ineligible_subjects(built, db):
    truth = _truth_subjects(built)
    expected = {r["usubjid"] for r in truth if r["is_screen_failure"] == "true"}
    ineligible = {
        r[0] for r in db.execute("select usubjid from marts.dim_subject where not is_eligible")
    }
    assert ineligible == expected


def test_failed_criteria_match_truth(built, db):
    """Each screen failure fails (at least) the criterion the simulator broke."""
    truth = {r["usubjid"]: r for r in _truth_subjects(built) if r["is_screen_failure"] == "true"}
    rows = db.execute(
        "select usubjid, criterion_id from marts.fct_eligibility where status = 'not_met'"
    ).fetchall()
    not_met: dict[str, set[str]] = {}
    for usubjid, crit in rows:
        not_met.setdefault(usubjid, set()).add(crit)
    for usubjid, r in truth.items():
        broken = {c for c in r["failed_criteria"].split(";") if c and c != "E7"}
        assert broken <= not_met.get(usubjid, set()), (usubjid, broken, not_met.get(usubjid))


def test_dlts_match_truth(built, db):
    truth = {r["usubjid"] for r in _truth_subjects(built) if r["is_dlt"] == "true"}
    derived = {
        r[0]
        for r in db.execute(
            "select usubjid from marts.dim_subject where n_dlts > 0 and cohort = 'ESCALATION'"
        )
    }
    assert derived == truth


def test_dlts_per_dose_level_match_truth(built, db):
    with open(built / "dose_escalation.csv", newline="") as fh:
        truth = {
            float(r["doselvl"]): int(r["dlts"]) for r in csv.DictReader(fh) if int(r["treated"]) > 0
        }
    derived = {
        float(lvl): n
        for lvl, n in db.execute("select dose_level, n_with_dlt from marts.fct_dose_escalation")
    }
    assert derived == truth


def test_mtd_matches_truth(built, db):
    """The simulator's 3+3 counts as DLT-evaluable exactly the subjects domain.md 5 does (all six
    cycle-1 doses or a DLT), so the marts reach the same MTD and per-level evaluable counts."""
    with open(built / "dose_escalation.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if int(r["treated"]) > 0]
    truth_mtd = [float(r["doselvl"]) for r in rows if r["decision"] == "mtd"]
    derived = [
        float(r[0])
        for r in db.execute("select dose_level from marts.fct_dose_escalation where is_mtd")
    ]
    status = {r[0] for r in db.execute("select mtd_status from marts.fct_dose_escalation")}
    assert derived == truth_mtd
    assert status == ({"MTD established"} if truth_mtd else {"MTD not established"})
    evaluable = {
        float(lvl): (int(t), int(e))
        for lvl, t, e in db.execute(
            "select dose_level, n_treated, n_dlt_evaluable from marts.fct_dose_escalation"
        )
    }
    assert evaluable == {
        float(r["doselvl"]): (int(r["treated"]), int(r["dlt_evaluable"])) for r in rows
    }


def test_group_mismatch_is_reported(built, db):
    truth = {r["usubjid"]: r for r in _truth_subjects(built)}
    rows = db.execute(
        'select usubjid, "group", imid_regimen, group_mismatch from marts.dim_subject where "group" is not null'
    ).fetchall()
    for usubjid, group, imid, mismatch in rows:
        t = truth[usubjid]
        assert imid == (t["imid_regimen"] == "true"), usubjid
        # arm_list mapping (default): A = non-IMiD, B = IMiD
        assert mismatch == ((group == "B") != imid), usubjid


def test_every_injected_semantic_error_is_in_data_issues(built, db):
    with open(built / "errors.csv", newline="") as fh:
        injected = [r for r in csv.DictReader(fh) if r["category"] == "semantic"]
    assert injected
    found = {(f, int(line)) for f, line in db.execute("select _file, _line from audit.data_issues")}
    missing = [r for r in injected if (r["file"], int(r["line"])) not in found]
    assert not missing, missing


def test_baselines_and_iss_agree_with_truth(built, db):
    truth = {r["usubjid"]: r for r in _truth_subjects(built) if r["is_screen_failure"] == "false"}
    rows = db.execute(
        "select usubjid, iss_stage, baseline_b2m from marts.dim_subject where saffl"
    ).fetchall()
    agree = sum(1 for u, iss, _ in rows if iss == truth[u]["baseline_iss"])
    assert agree / len(rows) >= 0.9, (agree, len(rows))


def test_rerun_with_no_new_data_changes_nothing(built, db):
    from cfz_platform.transform.build import build_marts

    def snapshot():
        return {
            t: db.execute(
                f"select count(*), md5(string_agg(md5(x::text), '' order by md5(x::text))) from marts.{t} x"
            ).fetchone()
            for t in (
                "dim_subject",
                "fct_eligibility",
                "fct_cycles",
                "fct_lab_results",
                "fct_adverse_events",
                "fct_dose_escalation",
            )
        }

    before = snapshot()
    result = build_marts("marts", select=["fct_lab_results"])
    lab_node = [r for r in result.results if r.node.name == "fct_lab_results"][0]
    assert lab_node.adapter_response.get("rows_affected") == 0
    assert snapshot() == before
