"""Vital signs with BSA of the simulated trial, end to end (issue 26).

The simulator writes VS (weight, height, blood pressure, ...) and the truth of each
carfilzomib cycle's BSA (truth/bsa.csv: Mosteller, from the weight and height it sent); the
session's built trial (tests/trial_template.py) ingested them through the front door.
fct_cycle_bsa and ADVS must say what the truth says.
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


def test_bsa_per_cycle_equals_the_simulator_truth(db, built_trial_template):
    """Each cycle's BSA is Mosteller's from the latest weight on or before its day 1 and the
    screening height, as the simulator sent them; ADVS carries it as PARAMCD BSA, cycle 1
    as baseline."""
    truth = {
        (t["usubjid"], int(t["cycle"])): (t["cycle_start_date"], float(t["bsa_m2"]))
        for t in _truth(built_trial_template, "bsa.csv")
        if t["bsa_m2"]
    }
    got = {
        (u, c): (d, b)
        for u, c, d, b in db.execute(
            "select usubjid, cycle, cycle_start_date::text, bsa_m2 from marts.fct_cycle_bsa"
        )
    }
    assert len(truth) > 200 and set(got) == set(truth)
    for key, (day1, bsa) in truth.items():
        assert got[key][0] == day1 and got[key][1] == pytest.approx(bsa, abs=1e-5), key
    advs = {
        (u, v): (a, fl)
        for u, v, a, fl in db.execute(
            "select usubjid, avisit, aval, ablfl from adam.advs where paramcd = 'BSA'"
        )
    }
    assert len(advs) == len(truth)
    for (u, c), (_day1, bsa) in truth.items():
        aval, ablfl = advs[(u, f"C{c}D1")]
        assert float(aval) == pytest.approx(bsa, abs=1e-5) and (ablfl == "Y") == (c == 1)


def test_carfilzomib_mg_against_planned_mg_m2_times_bsa(db):
    """The dose given in mg is EXDOSE (mg/m2) x BSA; it is listed when it differs from the
    cycle's dose level x BSA by more than 10%, which in this trial is a reduced cycle."""
    rows = db.execute(
        "select b.bsa_m2, b.dose_level_mg_m2, b.planned_dose_mg, b.dose_given_mg, "
        "b.is_dose_off_bsa, c.delivered_mg_m2, c.doses_given, c.doses_reduced "
        "from marts.fct_cycle_bsa as b join marts.fct_cycles as c using (usubjid, cycle) "
        "where b.bsa_m2 is not null and c.doses_given > 0"
    ).fetchall()
    assert len(rows) > 200
    for bsa, level, planned, given, off, delivered, n_given, n_reduced in rows:
        assert planned == pytest.approx(float(level) * bsa)
        assert given == pytest.approx(float(delivered) / n_given * bsa)
        assert off == (abs(given - planned) / planned > 0.10)
        if off:
            assert n_reduced > 0
    assert any(r[4] for r in rows) and not all(r[4] for r in rows)


def test_advs_baseline_is_the_last_value_on_or_before_the_first_dose(db):
    """Per subject and test, BASE is the last value on or before TRTSDT, ABLFL marks that one
    record, and CHG = AVAL - BASE after it (weight in kg, systolic BP in mmHg)."""
    trtsdt = dict(db.execute("select usubjid, trtsdt from adam.adsl where trtsdt is not null"))
    rows = db.execute(
        "select usubjid, paramcd, adt, aval, base, ablfl, chg, srckey from adam.advs "
        "where paramcd in ('WEIGHT', 'SYSBP') order by usubjid, paramcd, adt, srckey"
    ).fetchall()
    by_key: dict[tuple[str, str], list] = {}
    for r in rows:
        by_key.setdefault((r[0], r[1]), []).append(r)
    checked = 0
    for (u, _p), recs in by_key.items():
        before = [r for r in recs if trtsdt.get(u) and r[2] <= trtsdt[u]]
        base = before[-1] if before else None
        for r in recs:
            assert (r[5] == "Y") == (base is not None and r[7] == base[7])
            if base is not None:
                assert r[4] == base[3]
                if r[2] > trtsdt[u]:
                    assert r[6] == r[3] - base[3]
                    checked += 1
    assert checked > 500
