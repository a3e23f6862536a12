"""On-study concomitant medications of the simulated trial, end to end (issue 26).

The simulator writes CM (prior regimens and new anti-myeloma therapy) and the truth of each
subject's new therapy start (truth/subjects.csv new_therapy_date); the session's built
trial (tests/trial_template.py) ingested them through the front door. ADCM must say what the
truth says.
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
