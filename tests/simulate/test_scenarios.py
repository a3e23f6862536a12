"""Real-trial shapes (``--scenarios``): each is in the feeds, and the truth follows domain.md's rules.

One ``--scenarios all`` trial of 240 patients (seed 3) is read back from its landing folder as
a feed consumer would; the truth rules are also checked on hand-worked cases.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from cfz_platform.simulate.params import SimConfig
from cfz_platform.simulate.response import Assessment, ImwgAssessor, Panel, compute_best_response
from cfz_platform.simulate.safety import AdverseEvent
from cfz_platform.simulate.scenarios import SCENARIOS, parse_scenarios
from cfz_platform.simulate.subject_truth import compute_maintenance_pfs, compute_pfs_os
from cfz_platform.simulate.trial import run_simulation
from cfz_platform.simulate.truth_rules import (
    compute_dlt,
    compute_e2,
    compute_e2_status,
    compute_e3,
    compute_escalation,
    compute_level_decision,
)
from tests.conftest import ROOT, run_cfz

from .feeds import latest, read_domain, to_standard

LIMITS = ROOT / "src" / "cfz_platform" / "quality" / "reference" / "lab_physical_limits.csv"


def _d(text: str) -> int:
    return date.fromisoformat(text).toordinal()


class Sim:
    def __init__(self, root: Path, cfg: SimConfig):
        self.landing = root / "landing"
        self.truth = root / "truth"
        run_simulation(cfg, self.landing)
        with open(self.truth / "subjects.csv", encoding="utf-8") as fh:
            self.subjects = {r["usubjid"]: r for r in csv.DictReader(fh)}
        with open(self.truth / "errors.csv", encoding="utf-8") as fh:
            self.errors = list(csv.DictReader(fh))
        with open(self.truth / "dose_escalation.csv", encoding="utf-8") as fh:
            self.escalation = list(csv.DictReader(fh))
        self.study = json.loads((self.truth / "study.json").read_text())
        self.by_scenario = self.study["scenario_subjects"]


@pytest.fixture(scope="module")
def sim(tmp_path_factory) -> Sim:
    return Sim(
        tmp_path_factory.mktemp("scen"),
        SimConfig(patients=240, seed=3, scenarios=frozenset(SCENARIOS)),
    )


def _physical_violations(s: Sim) -> list[tuple]:
    """LB results (every version sent) outside lab_physical_limits.csv and not in errors.csv."""
    with open(LIMITS, encoding="utf-8") as fh:
        limits = {
            (r["lbtestcd"], r["lbspec"]): (float(r["low"]), float(r["high"]))
            for r in csv.DictReader(fh)
        }
    planted = {(e["file"], e["line"]) for e in s.errors}
    bad = []
    for r in read_domain(s.landing, "lb"):
        key, v = to_standard(r)
        if v is None:
            continue
        lim = limits.get((key.split("/")[0], r["LBSPEC"]))
        assert lim is not None, key
        if (
            not lim[0] <= v <= lim[1]
            and (f"{r['_delivery']}/lb.csv", str(r["_line"])) not in planted
        ):
            bad.append((r["USUBJID"], key, r["LBORRES"], r["LBORRESU"], r["LBDTC"]))
    return bad


def test_every_lab_value_is_physically_possible(tmp_path, sim):
    """Issue 15: `cfz simulate --patients 200 --seed 11` sent marrow plasma cells of 102.5% unlisted;
    no value outside the raw gate's physical limits is sent unless errors.csv lists it (that
    trial and the --scenarios all trial)."""
    s11 = Sim(tmp_path, SimConfig(patients=200, seed=11))
    assert _physical_violations(s11) == []
    assert _physical_violations(sim) == []


def test_every_scenario_occurs(sim):
    """--scenarios all: every shape is planted on at least 2 subjects (two-early-dlts: one level)."""
    for name in SCENARIOS:
        assert len(sim.by_scenario[name]) >= 2, name
    scen = [u for names in sim.by_scenario.values() for u in names]
    assert len(scen) <= 0.5 * len(sim.subjects)


def test_waivers_are_treated_but_not_response_evaluable(sim):
    """A waiver fails one criterion by rule, is in the safety population and not response-evaluable."""
    for u in sim.by_scenario["waiver"]:
        t = sim.subjects[u]
        assert t["is_screen_failure"] == "false" and t["saffl"] == "true"
        assert t["criteria_not_met"] == t["failed_criteria"] and t["failed_criteria"] in (
            "E2",
            "E3",
            "E5",
            "E6",
        )
        assert t["is_eligible"] == "false" and t["respevalfl"] == "false"
    crits = {sim.subjects[u]["failed_criteria"] for u in sim.by_scenario["waiver"]}
    assert len(crits) >= 2
    # no measurable disease (E6): every assessment is NE, so TTP is censored at the first dose
    e6 = [
        sim.subjects[u]
        for u in sim.by_scenario["waiver"]
        if sim.subjects[u]["failed_criteria"] == "E6"
    ]
    assert e6 and all(
        (t["true_best_response"], t["ttp_days"], t["ttp_event"]) == ("NE", "1", "0") for t in e6
    )


def test_bortezomib_monotherapy_fails_e1_and_meets_e4_vacuously(sim):
    """Index regimen = bortezomib alone (CM); on study carfilzomib alone (EX); E1 not met, E4 met, E7 met."""
    cm = defaultdict(set)
    for r in read_domain(sim.landing, "cm"):
        if r["CMCAT"] == "PRIOR MYELOMA THERAPY":
            cm[(r["USUBJID"], r["CMGRPID"])].add(r["CMTRT"].upper())
    ex = defaultdict(set)
    for r in read_domain(sim.landing, "ex"):
        ex[r["USUBJID"]].add(r["EXTRT"])
    for u in sim.by_scenario["btz-monotherapy"]:
        t = sim.subjects[u]
        assert cm[(u, t["index_grpid"])] <= {"BORTEZOMIB", "VELCADE"}
        assert ex[u] == {"CARFILZOMIB"}
        assert (t["e1"], t["e4"], t["e7"], t["criteria_not_met"]) == ("not_met", "met", "met", "E1")


def test_carfilzomib_held_on_c1d1_does_not_move_the_first_dose(sim):
    """C1D1 carfilzomib EXDOSE 0 (HELD) while a partner drug is given that day: first dose = that day."""
    ex = defaultdict(list)
    for r in latest(read_domain(sim.landing, "ex"), ("USUBJID", "EXTRT", "EXSTDTC")).values():
        ex[r["USUBJID"]].append(r)
    for u in sim.by_scenario["cfz-held-c1d1"]:
        t = sim.subjects[u]
        c1d1 = [r for r in ex[u] if r["VISIT"] == "C1D1"]
        cfz = next(r for r in c1d1 if r["EXTRT"] == "CARFILZOMIB")
        assert cfz["EXDOSE"] == "0" and cfz["EXADJ"].startswith("HELD")
        assert any(r["EXTRT"] != "CARFILZOMIB" and float(r["EXDOSE"]) > 0 for r in c1d1)
        assert (
            t["first_dose_date"]
            == cfz["EXSTDTC"]
            < min(r["EXSTDTC"] for r in ex[u] if r["EXTRT"] == "CARFILZOMIB" and r["EXDOSE"] != "0")
        )
        assert int(t["cycle1_doses_given"]) <= 5


def test_ongoing_aes_and_the_ongoing_gi_dlt(sim):
    """AEs with no AEENDTC; an escalation grade-3 nausea/vomiting/diarrhoea in the DLT window with no
    end date is a DLT in truth (it has not resolved within 3 days)."""
    ae = read_domain(sim.landing, "ae")
    ongoing = {r["USUBJID"] for r in ae if not r["AEENDTC"] and r["AETOXGR"] != "5"}
    assert set(sim.by_scenario["ae-ongoing"]) <= ongoing
    gi = [
        r
        for r in ae
        if r["AEDECOD"] in ("Nausea", "Vomiting", "Diarrhoea")
        and r["AETOXGR"] == "3"
        and not r["AEENDTC"]
        and sim.subjects[r["USUBJID"]]["cohort"] == "ESCALATION"
        and _d(r["AESTDTC"]) - _d(sim.subjects[r["USUBJID"]]["first_dose_date"]) <= 27
    ]
    assert gi
    for r in gi:
        t = sim.subjects[r["USUBJID"]]
        assert (
            t["is_dlt"] == "true"
            and t["dlt_evaluable"] == "true"
            and r["AEDECOD"] in t["dlt_rules"]
        )


def test_month_only_dates_and_e3_not_evaluable(sim):
    """Month-only RSDTC (index PD), AESTDTC and CMSTDTC are sent; E3 is not evaluable exactly when the
    84-day window after the last bortezomib dose ends inside the PD month."""
    subs = set(sim.by_scenario["partial-dates"])
    rs = [
        r
        for r in read_domain(sim.landing, "rs")
        if r["USUBJID"] in subs and r["EPOCH"] == "PRIOR THERAPY"
    ]
    cm = [r for r in read_domain(sim.landing, "cm") if r["USUBJID"] in subs]
    assert any(len(r["RSDTC"]) == 7 for r in rs)
    assert any(len(r["CMSTDTC"]) == 7 for r in cm)
    assert any(
        len(r["AESTDTC"]) == 7 for r in read_domain(sim.landing, "ae") if r["USUBJID"] in subs
    )
    statuses = set()
    for u in subs:
        t = sim.subjects[u]
        pd = next(r["RSDTC"] for r in rs if r["USUBJID"] == u and r["RSLNKGRP"] == t["index_grpid"])
        btz = sorted(
            _d(r["CMSTDTC"])
            for r in cm
            if r["USUBJID"] == u
            and r["CMGRPID"] == t["index_grpid"]
            and r["CMTRT"].upper() in ("BORTEZOMIB", "VELCADE")
        )
        assert t["e3"] == compute_e3(pd, btz[0], btz[-1]), u
        statuses.add(t["e3"])
    assert {"met", "not_evaluable"} <= statuses


def test_new_therapy_on_an_assessment_day_is_ignored(sim):
    """New therapy starts on an assessment day (a myeloma-panel date): that assessment neither
    confirms nor counts; TTP is censored at the assessment before it."""
    panels = defaultdict(set)
    for r in read_domain(sim.landing, "lb"):
        if r["LBTESTCD"] in ("MPROTEIN", "SPEP", "UPEP", "M-PROTEIN"):
            panels[r["USUBJID"]].add(r["LBDTC"])
    on_day = [
        u
        for u in sim.by_scenario["new-therapy-on-assessment"]
        if sim.subjects[u]["new_therapy_date"] in panels[u]
    ]
    assert len(on_day) >= 2
    for u in on_day:
        t = sim.subjects[u]
        before = max(d for d in panels[u] if t["first_dose_date"] < d < t["new_therapy_date"])
        assert (t["ttp_event"], int(t["ttp_days"])) == (
            "0",
            _d(before) - _d(t["first_dose_date"]) + 1,
        ), u


def test_death_before_the_first_assessment(sim):
    """Died in cycle 1 before C1D8: best response NE, TTP censored at the first dose (AVAL 1)."""
    for u in sim.by_scenario["early-death"]:
        t = sim.subjects[u]
        assert (
            _d(t["death_date"]) - _d(t["first_dose_date"]) < 7
            and t["death_cause"] == "ADVERSE EVENT"
        )
        assert (t["true_best_response"], t["ttp_days"], t["ttp_event"], t["n_assessments"]) == (
            "NE",
            "1",
            "0",
            "0",
        )
        assert t["saffl"] == "true"


def test_e7_reads_the_partner_drugs_given(sim):
    """E7 compares the partner drugs actually given (EX, EXDOSE > 0) with the index regimen's: a
    subject who died before the day-8 doxorubicin of a PLD regimen does not meet it."""
    given = defaultdict(set)
    for r in read_domain(sim.landing, "ex"):
        if r["EXTRT"] != "CARFILZOMIB" and float(r["EXDOSE"]) > 0:
            given[r["USUBJID"]].add(r["EXTRT"])
    for u, t in sim.subjects.items():
        if t["is_screen_failure"] == "true":
            assert t["e7"] == "not_evaluable"
            continue
        index = set(t["index_regimen"].split("+")) - {"BORTEZOMIB"}
        assert t["e7"] == ("met" if given[u] == index else "not_met"), u


def test_consent_withdrawn_leaves_no_later_data(sim):
    """No EX, LB or RS dated after the last dose of a subject who withdrew."""
    subs = [
        u
        for u in sim.by_scenario["consent-withdrawn"]
        if sim.subjects[u]["stop_reason"] == "WITHDRAWN"
    ]
    assert subs
    last = defaultdict(str)
    for dom, col in (("ex", "EXSTDTC"), ("lb", "LBDTC"), ("rs", "RSDTC")):
        for r in read_domain(sim.landing, dom):
            if r["USUBJID"] in subs:
                last[r["USUBJID"]] = max(last[r["USUBJID"]], r[col])
    for u in subs:
        assert (
            last[u] <= sim.subjects[u]["last_dose_date"]
            or _d(last[u]) - _d(sim.subjects[u]["last_dose_date"]) < 14
        )


def test_two_early_dlts_put_a_level_above_the_mtd(sim):
    """A level whose first two subjects had DLTs: no third subject, above the MTD at once."""
    lvl = next(
        r for r in sim.escalation if r["decision_rule"] == "above_mtd" and r["dlt_evaluable"] == "2"
    )
    assert lvl["treated"] == "2" and lvl["dlts"] == "2" and lvl["decision"] == "exceeds_mtd"
    for u in sim.by_scenario["two-early-dlts"]:
        assert sim.subjects[u]["is_dlt"] == "true"


def test_serum_nadir_above_5_rise_of_1_is_pd_below_25_percent(sim):
    """Nadir >= 5 g/dL then a >= 1.0 g/dL rise below 25%: PD (the first of two) in truth."""
    below = [
        u for u in sim.by_scenario["nadir-above-5"] if "(below 25%)" in sim.subjects[u]["pd_rule"]
    ]
    assert len(below) >= 2
    lb = defaultdict(dict)
    for r in latest(
        read_domain(sim.landing, "lb"), ("USUBJID", "LBTESTCD", "LBSPEC", "LBDTC")
    ).values():
        key, v = to_standard(r)
        if key == "MPROTEIN/SERUM" and r["USUBJID"] in below and v is not None:
            lb[r["USUBJID"]][r["LBDTC"]] = v
    for u in below:
        t = sim.subjects[u]
        series = sorted(lb[u].items())
        nadir = min(v for d, v in series if t["first_dose_date"] <= d < t["pd_date"])
        at_pd = lb[u][t["pd_date"]]
        assert nadir >= 5.0 and at_pd - nadir >= 1.0 and at_pd < 1.25 * nadir, (u, nadir, at_pd)


def test_armcd_mismatch_boosted(sim):
    assert len(sim.by_scenario["armcd-mismatch"]) >= round(0.06 * 240) - 1
    for u in sim.by_scenario["armcd-mismatch"]:
        assert sim.subjects[u]["armcd"] != sim.subjects[u]["group"]


def test_default_trial_has_shapes_at_low_rates(tmp_path):
    """The default trial carries a few shapes (realistic rates); --scenarios none carries none."""
    d = Sim(tmp_path / "d", SimConfig())
    n = sum(len(v) for k, v in d.by_scenario.items() if k != "armcd-mismatch")
    assert 1 <= n <= 0.15 * 45
    none = Sim(tmp_path / "n", SimConfig(realistic_scenarios=False))
    assert sum(len(v) for k, v in none.by_scenario.items() if k != "armcd-mismatch") == 0


def test_cli_scenarios_option(tmp_path):
    """Unknown names: a one-line error naming the known ones; --help documents the names."""
    bad = run_cfz(
        "simulate", "--scenarios", "waiver,bogus", "--out", str(tmp_path / "l"), check=False
    )
    assert bad.returncode != 0 and "unknown scenario(s) bogus" in bad.stderr + bad.stdout
    assert "Traceback" not in bad.stderr
    helptext = run_cfz("simulate", "--help").stdout
    for name in ("nadir-above-5", "two-early-dlts", "cfz-held-c1d1"):
        assert name in helptext.replace("\n", "").replace(" ", "") or name in helptext
    assert parse_scenarios("all") == (frozenset(SCENARIOS), True)
    assert parse_scenarios("none") == (frozenset(), False)
    assert parse_scenarios("waiver, early-death") == (frozenset({"waiver", "early-death"}), True)


# ----------------------------------------------------------------- hand-worked truth rules


def test_e2_window_is_27_days_first_to_fourth():
    assert compute_e2([(0, 1.3), (7, 1.3), (14, 1.3), (27, 1.0)])
    assert not compute_e2([(0, 1.3), (7, 1.3), (14, 1.3), (28, 1.3)])
    assert not compute_e2([(0, 1.3), (3, 0.9), (7, 1.3), (10, 1.3)])


def test_e3_partial_pd_date():
    """Window: first bortezomib 2025-01-01 .. last 2025-02-01 + 84 = 2025-04-26."""
    first, last = _d("2025-01-01"), _d("2025-02-01")
    assert compute_e3("2025-03", first, last) == "met"
    assert compute_e3("2025-04", first, last) == "not_evaluable"
    assert compute_e3("2025-05", first, last) == "not_met"
    assert compute_e3("2025-04-26", first, last) == "met"
    assert compute_e3("2025-04-27", first, last) == "not_met"


def _ae(decod, grade, start, end, rel="PROBABLE"):
    return AdverseEvent(decod, decod, "X", grade, start, end, rel)


def test_dlt_rules_hand_worked():
    fd, cut = 1000, 2000
    assert (
        compute_dlt([_ae("Nausea", 3, fd + 3, fd + 6)], fd, fd + 28, cut).is_dlt is False
    )  # resolved in 3 d
    assert compute_dlt([_ae("Nausea", 3, fd + 3, fd + 7)], fd, fd + 28, cut).is_dlt is True
    assert compute_dlt([_ae("Nausea", 3, fd + 3, None)], fd, fd + 28, cut).is_dlt is True  # ongoing
    assert (
        compute_dlt([_ae("Nausea", 3, fd + 3, None, "UNLIKELY")], fd, fd + 28, cut).is_dlt is False
    )
    assert (
        compute_dlt([_ae("Pneumonia", 3, fd + 28, fd + 35)], fd, fd + 28, cut).is_dlt is False
    )  # day 29
    assert (
        compute_dlt([_ae("Pneumonia", 3, fd + 27, fd + 35)], fd, fd + 28, cut).is_dlt is True
    )  # day 28
    assert (
        compute_dlt([_ae("Neutropenia", 4, fd + 8, fd + 14)], fd, fd + 28, cut).is_dlt is False
    )  # 7 days
    assert (
        compute_dlt([_ae("Neutropenia", 4, fd + 8, fd + 15)], fd, fd + 28, cut).is_dlt is True
    )  # 8 days
    assert (
        compute_dlt(
            [
                _ae("Thrombocytopenia", 3, fd + 8, fd + 15),
                _ae("Epistaxis", 1, fd + 9, fd + 10, "UNLIKELY"),
            ],
            fd,
            fd + 28,
            cut,
        ).is_dlt
        is True
    )
    assert (
        compute_dlt([_ae("Thrombocytopenia", 3, fd + 8, fd + 15)], fd, fd + 28, cut).is_dlt is False
    )
    assert (
        compute_dlt([_ae("Fatigue", 2, fd + 8, fd + 30)], fd, fd + 28 + 15, cut).is_dlt is True
    )  # C2 +15 d
    assert compute_dlt([_ae("Fatigue", 2, fd + 8, fd + 30)], fd, fd + 28 + 14, cut).is_dlt is False


def test_three_plus_three_decisions_by_counts():
    assert compute_level_decision(2, 2) == "above_mtd"
    assert compute_level_decision(2, 1) == "enrolling"
    assert compute_level_decision(3, 0) == "escalate"
    assert compute_level_decision(3, 1) == "expand_to_6"
    assert compute_level_decision(6, 1) == "escalate"
    rows = [
        {
            "cohort": "ESCALATION",
            "is_screen_failure": False,
            "doselvl": lv,
            "dlt_evaluable": True,
            "is_dlt": d,
        }
        for lv, d in [(20, 0)] * 3 + [(27, 1)] + [(27, 0)] * 5 + [(36, 1)] * 2
    ]
    levels, mtd = compute_escalation(rows)
    assert [r["decision_rule"] for r in levels] == [
        "escalate",
        "escalate",
        "above_mtd",
    ] and mtd == 27.0


def test_serum_nadir_rule_and_new_therapy_boundary():
    """Nadir 6.5 -> 7.5 (+1.0, 15%) is PD; nadir 4.0 -> 4.9 (+0.9, 22%) is not. An assessment on the day
    new therapy starts does not confirm the one before it."""
    a = ImwgAssessor(Panel(serum=8.0, urine=0.0, kappa=3.0, lam=1.0))
    assert a.assess(28, Panel(serum=6.5, urine=0.0)).category == "SD"
    assert a.assess(56, Panel(serum=7.5, urine=0.0)).category == "PD"
    b = ImwgAssessor(Panel(serum=8.0, urine=0.0, kappa=3.0, lam=1.0))
    assert b.assess(28, Panel(serum=4.0, urine=0.0)).category == "PR"
    assert b.assess(56, Panel(serum=4.9, urine=0.0)).category not in ("PD",)
    hist = [
        Assessment(28, "PR"),
        Assessment(56, "PR"),
        Assessment(84, "VGPR"),
        Assessment(112, "VGPR"),
    ]
    assert compute_best_response(hist, new_therapy_day=112).best == "PR"
    assert compute_best_response(hist, new_therapy_day=113).best == "VGPR"
    pd = [Assessment(28, "SD"), Assessment(56, "PD", "mprotein"), Assessment(84, "PD", "mprotein")]
    assert compute_best_response(pd, new_therapy_day=84).pd_day is None
    assert compute_best_response(pd).pd_day == 56


def test_thresholds_compare_the_decimals_as_sent():
    """Seed 90210, subject 101-0032: nadir 0.32 g/dL, then 0.82 g/dL. The rise is exactly 0.50 g/dL
    as reported (>= 0.5: PD), although 0.82 - 0.32 is 0.49999999999999994 in binary floating
    point; the truth once called it PR and disagreed with the marts (exact numerics)."""
    a = ImwgAssessor(Panel(serum=3.53, urine=0.0, kappa=9.0, lam=1.0))
    assert a.assess(84, Panel(serum=0.32, urine=0.0)).category == "VGPR"
    assert a.assess(112, Panel(serum=0.82, urine=0.0)).category == "PD"
    b = ImwgAssessor(Panel(serum=3.53, urine=0.0, kappa=9.0, lam=1.0))
    assert b.assess(84, Panel(serum=0.32, urine=0.0)).category == "VGPR"
    assert b.assess(112, Panel(serum=0.81, urine=0.0)).category != "PD"  # +0.49


# --------------------------------------------------------------------------- issue 25


def test_month_only_bortezomib_doses_decide_e2_when_every_day_agrees(sim):
    """partial-bortezomib: one index-regimen bortezomib CMSTDTC is month-only (never the first or
    last dose); the truth's E2 is the rule on every possible day of it, and both a decided (met)
    and an undecided (not_evaluable) outcome occur."""
    subs = set(sim.by_scenario["partial-bortezomib"])
    cm = [
        r
        for r in read_domain(sim.landing, "cm")
        if r["USUBJID"] in subs and r["CMTRT"].upper() in ("BORTEZOMIB", "VELCADE")
    ]
    statuses = set()
    for u in subs:
        t = sim.subjects[u]
        rows = sorted(
            (r for r in cm if r["USUBJID"] == u and r["CMGRPID"] == t["index_grpid"]),
            key=lambda r: r["CMSTDTC"],
        )
        texts = [r["CMSTDTC"] for r in rows]
        assert sum(len(x) == 7 for x in texts) == 1, (u, texts)
        assert len(texts[0]) == 10 and len(texts[-1]) == 10, (u, texts)
        doses = [
            (_d(x) if len(x) == 10 else 0, float(r["CMDOSE"]))
            for x, r in zip(texts, rows, strict=True)
        ]
        assert t["e2"] == compute_e2_status(doses, texts), u
        statuses.add(t["e2"])
    assert {"met", "not_evaluable"} <= statuses, statuses


def test_unscheduled_visits_on_several_dates_are_several_assessments(sim):
    """unscheduled-visits: myeloma panels labelled UNSCHEDULED on two or more dates per subject
    (day 22 of cycles 2 and 3), each counted by the truth as an assessment of its own."""
    subs = set(sim.by_scenario["unscheduled-visits"])
    dates = defaultdict(set)
    for r in read_domain(sim.landing, "lb"):
        if r["USUBJID"] in subs and r["VISIT"] == "UNSCHEDULED":
            dates[r["USUBJID"]].add(r["LBDTC"])
    assert sum(len(d) >= 2 for d in dates.values()) >= 2, dict(dates)
    rs = [
        r
        for r in read_domain(sim.landing, "rs")
        if r["USUBJID"] in subs and r["VISIT"] == "UNSCHEDULED" and r["RSTESTCD"] == "OVRLRESP"
    ]
    assert {r["RSDTC"] for r in rs} <= {d for ds in dates.values() for d in ds}


def test_investigator_flags_carry_death_from_pd_and_new_therapy(sim):
    """investigator-flags: DTHPDFL = Y on the last investigator record of a subject who died from
    PD with no PD assessment (fatal AE not a PD term): TTP is an event on the death date; NACTDT
    on the investigator record (the day-1 assessment new therapy started on, or the last before
    it), with no CM row: TTP ends before it."""
    subs = set(sim.by_scenario["investigator-flags"])
    rs = [
        r
        for r in read_domain(sim.landing, "rs")
        if r["USUBJID"] in subs and r["RSTESTCD"] == "OVRLRESP"
    ]
    post = {r["USUBJID"] for r in read_domain(sim.landing, "cm") if r["CMGRPID"] == "POST1"}
    dthpd = {r["USUBJID"] for r in rs if r["DTHPDFL"] == "Y"}
    nact = {r["USUBJID"]: r["NACTDT"] for r in rs if r["NACTDT"]}
    assert dthpd and nact
    for u in dthpd:
        t = sim.subjects[u]
        assert t["death_cause"] == "PROGRESSIVE DISEASE" and not t["pd_date"], u
        assert (t["ttp_event"], int(t["ttp_days"])) == (
            "1",
            _d(t["death_date"]) - _d(t["first_dose_date"]) + 1,
        ), u
    for u, day in nact.items():
        t = sim.subjects[u]
        assert t["new_therapy_date"] == day and u not in post, u
        # TTP ends before the new therapy: PD confirmed before it, else censored before it
        assert int(t["ttp_days"]) < _d(day) - _d(t["first_dose_date"]) + 1, u
    assert any(sim.subjects[u]["ttp_event"] == "0" for u in nact)


def test_e2_status_on_every_possible_day_hand_worked():
    """domain.md 2 on month-only dose dates (the cases of the dbt unit test
    e2_window_month_only_dose_decided_on_every_day, plus one that the missing day decides)."""
    d = _d
    full = lambda *xs: [(d(x), 1.3) for x in xs]  # noqa: E731
    # MA: 03-10, 03-14, 03-17 and '2025-03': 7 to 21 days wherever it falls -> met
    assert (
        compute_e2_status(
            full("2025-03-10", "2025-03-14", "2025-03-17") + [(0, 1.3)],
            ["2025-03-10", "2025-03-14", "2025-03-17", "2025-03"],
        )
        == "met"
    )
    # MB: the full doses already qualify (21 days) -> met whatever the month-only day
    assert (
        compute_e2_status(
            full("2025-02-25", "2025-03-04", "2025-03-11", "2025-03-18") + [(0, 1.3)],
            ["2025-02-25", "2025-03-04", "2025-03-11", "2025-03-18", "2025-03"],
        )
        == "met"
    )
    # MC: fourth dose in May, 59-89 days after the first -> not met on every day
    assert (
        compute_e2_status(
            full("2025-03-03", "2025-03-10", "2025-03-17") + [(0, 1.3)],
            ["2025-03-03", "2025-03-10", "2025-03-17", "2025-05"],
        )
        == "not_met"
    )
    # PA: 01-01, '2025-01', 01-20, 01-27: 26 days on 01-01..01-27, 28-30 later -> not evaluable
    assert (
        compute_e2_status(
            full("2025-01-01") + [(0, 1.3)] + full("2025-01-20", "2025-01-27"),
            ["2025-01-01", "2025-01", "2025-01-20", "2025-01-27"],
        )
        == "not_evaluable"
    )
    # a month-only dose below 1.0 mg/m2 does not count at all
    assert (
        compute_e2_status(
            full("2025-03-10", "2025-03-14", "2025-03-17") + [(0, 0.7)],
            ["2025-03-10", "2025-03-14", "2025-03-17", "2025-03"],
        )
        == "not_met"
    )


def test_maintenance_pfs_starts_at_the_first_maintenance_dose_hand_worked():
    """domain.md 4, maintenance PFS "from the first maintenance dose": no dose given (a death on
    the planned first maintenance day, seed 731's subject in issue 25) -> no maintenance PFS;
    otherwise day 1 is the first dose given (days are relative to the first study dose)."""
    fd = _d("2025-01-01")
    none = compute_maintenance_pfs(fd, fd + 600, None, None, 300, 280)
    assert none == {"maint_start_date": "", "mpfs_days": "", "mpfs_event": ""}
    # first maintenance dose on day 301 (held day 1 on day 300); death on day 330
    got = compute_maintenance_pfs(fd, fd + 600, fd + 301, None, 330, 320)
    assert got == {"maint_start_date": "2025-10-29", "mpfs_days": 30, "mpfs_event": 1}
    # no event: censored at the last assessment (day 360) -> 60 days
    got = compute_maintenance_pfs(fd, fd + 600, fd + 301, None, None, 360)
    assert got == {"maint_start_date": "2025-10-29", "mpfs_days": 60, "mpfs_event": 0}


def test_overall_pfs_and_os_truth_hand_worked():
    """domain.md 4 (issue 27): PFS ends at the earlier of PD and death from any cause before
    new therapy, else censored as TTP; OS is death from any cause, new therapy or not."""
    # PD on day 100, death on day 150: PFS event on day 100 (AVAL 101); OS event AVAL 151
    assert compute_pfs_os(100, 150, None, 90) == {
        "pfs_days": 101,
        "pfs_event": 1,
        "os_days": 151,
        "os_event": 1,
    }
    # death without PD on day 80: a PFS event (not censored as in TTP)
    assert compute_pfs_os(None, 80, None, 56) == {
        "pfs_days": 81,
        "pfs_event": 1,
        "os_days": 81,
        "os_event": 1,
    }
    # death after new therapy (day 70): PFS censored at the last assessment before it; OS event
    assert compute_pfs_os(None, 120, 70, 56) == {
        "pfs_days": 57,
        "pfs_event": 0,
        "os_days": 121,
        "os_event": 1,
    }
    # alive, no assessment: PFS censored at the first dose; OS censored (no truth day)
    assert compute_pfs_os(None, None, None, 0) == {
        "pfs_days": 1,
        "pfs_event": 0,
        "os_days": "",
        "os_event": 0,
    }


def test_truth_maintenance_follows_the_feed_seed_731(tmp_path):
    """Issue 25 item 4: on seed 731 (350 subjects, --scenarios all) every truth maintenance
    start is a maintenance carfilzomib dose given in EX, and every subject with such a dose
    entered maintenance in the truth (the truth once started maintenance on a death date
    with no maintenance dose in the feed)."""
    s = Sim(tmp_path, SimConfig(patients=350, seed=731, scenarios=frozenset(SCENARIOS)))
    given = defaultdict(set)
    for r in read_domain(s.landing, "ex"):
        if r["EPOCH"] == "MAINTENANCE" and r["EXTRT"] == "CARFILZOMIB" and r["EXDOSE"] != "0":
            given[r["USUBJID"]].add(r["EXSTDTC"])
    for u, t in s.subjects.items():
        if t["is_screen_failure"] == "true":
            continue
        assert (t["entered_maintenance"] == "true") == bool(given[u]), u
        if given[u]:
            assert t["maint_start_date"] == min(given[u]), u
