"""Disposition and medical history of the simulated trial, end to end (issue 26).

The simulator writes DS and MH feeds and their truth (truth/disposition.csv,
truth/medical_history.csv); the session's built trial (tests/trial_template.py) ingested them
through the front door. ADSL's EOTSTT/DCTREAS/EOSSTT/DCSREAS and ADMH must say what the truth
says, subject by subject and condition by condition.
"""

from __future__ import annotations

import csv

import pytest


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse: str) -> str:
    """A copy of the session's built trial."""
    return trial_warehouse


def _truth(template, name: str) -> list[dict]:
    with open(template.truth / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_adsl_disposition_equals_the_simulator_truth(db, built_trial_template):
    """Every subject's end of treatment and of study, with reasons, as the course ended:
    progression, toxicity, death and withdrawal discontinue; screen failures end the study
    at screening and never start treatment; the others are ongoing."""
    truth = {
        t["usubjid"]: (
            t["eotstt"] or None,
            t["dctreas"] or None,
            t["eosstt"],
            t["dcsreas"] or None,
        )
        for t in _truth(built_trial_template, "disposition.csv")
    }
    got = {
        r[0]: r[1:]
        for r in db.execute("select usubjid, eotstt, dctreas, eosstt, dcsreas from adam.adsl")
    }
    assert got == truth
    reasons = {t[1] for t in truth.values()} | {t[3] for t in truth.values()}
    assert {"PROGRESSIVE DISEASE", "SCREEN FAILURE"} <= reasons
    assert {t[0] for t in truth.values()} >= {"DISCONTINUED", "ONGOING", None}


def test_admh_equals_the_simulator_truth(db, built_trial_template):
    """Each simulated condition is one ADMH record with its body system, pre-treatment, and
    ongoing at baseline exactly when it has no end date."""
    truth = sorted(
        (
            t["usubjid"],
            t["mhterm"],
            t["mhbodsys"],
            "Y",
            "Y" if t["is_ongoing_at_baseline"] == "true" else None,
        )
        for t in _truth(built_trial_template, "medical_history.csv")
    )
    got = sorted(
        db.execute("select usubjid, mhdecod, mhbodsys, prefl, ongblfl from adam.admh").fetchall()
    )
    assert len(got) > 40 and got == truth


def test_adsl_ecogbl_and_the_ecog_shift_follow_the_simulator(db, built_trial_template):
    """ECOGBL is the truth's baseline ECOG for every treated subject; the worst post-baseline
    value is the highest RS ECOG the feeds sent after the first dose, and the shift says
    whether it rose."""
    truth = {
        t["usubjid"]: int(t["ecog_baseline"])
        for t in _truth(built_trial_template, "subjects.csv")
        if t["is_screen_failure"] == "false" and t["first_dose_date"]
    }
    got = dict(db.execute("select usubjid, ecogbl from adam.adsl where trtsdt is not null"))
    assert {u: int(v) for u, v in got.items()} == truth
    rows = db.execute(
        "select ecog_baseline, ecog_worst_post, ecog_shift from marts.fct_performance_status"
    ).fetchall()
    assert len(rows) == len(truth)
    for base, worst, shift in rows:
        if worst is None:
            assert shift is None
        else:
            expected = "worsened" if worst > base else "unchanged" if worst == base else "improved"
            assert shift == expected
    assert {r[2] for r in rows} >= {"worsened", "unchanged"}


def test_every_discontinuation_for_an_ae_has_the_ae_that_caused_it(db, built_trial_template):
    """The seeded trial's three stops for toxicity (DS END OF TREATMENT, ADVERSE EVENT) each
    have an AE with AEACN DRUG WITHDRAWN starting on or before the DS date, its onset the
    truth's withdrawal_ae_date; the mart gate's warning check found nothing to name."""
    truth = {
        t["usubjid"]: t["withdrawal_ae_date"]
        for t in _truth(built_trial_template, "subjects.csv")
        if t["stop_reason"] == "TOX"
    }
    rows = db.execute(
        "select d.usubjid, d.eot_source, d.eotdt, "
        "(select min(a.astdt) from adam.adae a where a.usubjid = d.usubjid "
        "and a.aeacn = 'DRUG WITHDRAWN' and a.astdt <= d.eotdt) "
        "from marts.fct_disposition d where d.dctreas = 'ADVERSE EVENT' order by 1"
    ).fetchall()
    assert len(rows) == 3 and {r[0] for r in rows} <= set(truth)
    for usubjid, source, _eotdt, ae_start in rows:
        assert source == "END OF TREATMENT"
        assert ae_start is not None and ae_start.isoformat() == truth[usubjid], usubjid
    checked = db.execute(
        "select success, unexpected_count from audit.quality_results "
        "where expectation = 'ae_discontinuation_has_its_ae'"
    ).fetchall()
    assert checked and all(success for success, _n in checked)
