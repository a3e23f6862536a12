"""On-study concomitant medications of the simulated trial, end to end (issue 26).

The simulator writes CM (prior regimens, supportive care and new anti-myeloma therapy) and
its truth (truth/subjects.csv new_therapy_date, truth/concomitant_medications.csv); the
session's built trial (tests/trial_template.py) ingested them through the front door. ADCM
must say what the truth says.
"""

from __future__ import annotations

import csv
from datetime import date

import pytest


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse: str) -> str:
    """A copy of the session's built trial."""
    return trial_warehouse


def _truth(template, name: str) -> list[dict]:
    with open(template.truth / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_adcm_new_anti_myeloma_therapy_equals_the_simulator_truth(db, built_trial_template):
    """NEWTRTFL marks exactly the subjects the simulator started on a new anti-myeloma regimen,
    from its start date; prior regimens are never on-study use."""
    truth = {
        t["usubjid"]: t["new_therapy_date"]
        for t in _truth(built_trial_template, "subjects.csv")
        if t["new_therapy_date"]
    }
    got = dict(
        db.execute(
            "select usubjid, min(astdt)::text from adam.adcm where newtrtfl = 'Y' group by usubjid"
        )
    )
    assert len(truth) > 5 and got == truth
    assert (
        db.execute(
            "select count(*) from adam.adcm where prmytfl = 'Y' and (ontrtfl = 'Y' or newtrtfl = 'Y')"
        ).fetchone()[0]
        == 0
    )


def test_adcm_on_study_use_follows_domain_rule(db):
    """ONTRTFL: not prior myeloma therapy; started between the first dose and 30 days after
    the last, or started before the first dose and not ended by it."""
    dates = {u: (s, e) for u, s, e in db.execute("select usubjid, trtsdt, trtedt from adam.adsl")}
    rows = db.execute("select usubjid, astdt, aendt, prmytfl, ontrtfl from adam.adcm").fetchall()
    n_on = 0
    for u, st, en, prior, on in rows:
        first, last = dates[u]
        expected = (
            prior is None
            and first is not None
            and (
                (st is not None and first <= st and (st - last).days <= 30)
                or ((st is None or st < first) and (en is None or en >= first))
            )
        )
        assert (on == "Y") == expected, (u, st, en)
        n_on += expected
    assert n_on > 0


def test_adcm_supportive_care_equals_the_simulator_truth(db, built_trial_template):
    """Every supportive medication the simulator gave is one ADCM record, coded to its drug
    and class by the drug_synonyms seed (brand names too), with its dates as sent (some with
    no start, some ongoing), on-study use as the truth says, and never new anti-myeloma
    therapy."""
    truth = sorted(
        (
            t["usubjid"],
            t["cmtrt"].upper(),
            t["cmdecod"],
            t["cmclas"],
            t["cmstdtc"] or None,
            t["cmendtc"] or None,
            "Y" if t["is_on_study"] == "true" else None,
        )
        for t in _truth(built_trial_template, "concomitant_medications.csv")
    )
    got = sorted(
        db.execute(
            "select usubjid, cmtrt, cmdecod, cmclas, cmstdtc, cmendtc, ontrtfl from adam.adcm "
            "where cmcat = 'SUPPORTIVE CARE'"
        ).fetchall()
    )
    assert got == truth and len(got) > 100
    assert {r[3] for r in got} >= {"antiviral", "antithrombotic", "bisphosphonate", "antiemetic"}
    assert any(r[4] is None for r in got) and any(r[5] is None for r in got)
    assert any(r[6] is None for r in got)  # the NSAIDs stopped before the first dose
    assert (
        db.execute(
            "select count(*) from adam.adcm where cmcat = 'SUPPORTIVE CARE' and newtrtfl = 'Y'"
        ).fetchone()[0]
        == 0
    )


def test_a_subjects_acyclovir_is_supportive_on_study_use_not_new_therapy(db):
    """Hand-worked from the seeded trial: CFZ-MM-01-102-0001 took acyclovir 400 mg from its
    first dose, 2024-02-02 (study day 1), to 11 days after its last dose of 2024-04-16, i.e.
    2024-04-27 (day 86: 28 days of February 2024 left, 31 of March, 27 of April): on-study
    use, not before treatment, an antiviral and not new anti-myeloma therapy."""
    row = db.execute(
        "select cmtrt, cmdecod, cmclas, cmcat, cmdose, cmdosu, astdt, aendt, astdy, aendy, "
        "prefl, ontrtfl, newtrtfl, prmytfl from adam.adcm "
        "where usubjid = 'CFZ-MM-01-102-0001' and cmdecod = 'ACYCLOVIR'"
    ).fetchall()
    assert row == [
        (
            "ACYCLOVIR",
            "ACYCLOVIR",
            "antiviral",
            "SUPPORTIVE CARE",
            400,
            "mg",
            date(2024, 2, 2),
            date(2024, 4, 27),
            1,
            86,
            None,
            "Y",
            None,
            None,
        )
    ]
    trtsdt, trtedt = db.execute(
        "select trtsdt, trtedt from adam.adsl where usubjid = 'CFZ-MM-01-102-0001'"
    ).fetchone()
    assert trtsdt == date(2024, 2, 2) and (date(2024, 4, 27) - trtedt).days <= 30
