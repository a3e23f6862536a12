"""Clinical properties of the default simulated trial (45 patients, seed 20140127)."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date

from cfz_platform.simulate import params as P
from cfz_platform.simulate.response import RANK, ImwgAssessor, Panel, compute_best_response
from cfz_platform.simulate.supportive_care import SUPPORTIVE_CMCAT as SUPPORTIVE

from .feeds import latest, read_domain, to_standard

ALLOWED = {
    "DEXAMETHASONE",
    "DECADRON",
    "METHYLPREDNISOLONE",
    "MEDROL",
    "PREDNISONE",
    "LENALIDOMIDE",
    "REVLIMID",
    "THALIDOMIDE",
    "THALOMID",
    "CYCLOPHOSPHAMIDE",
    "CYTOXAN",
    "MELPHALAN",
    "ALKERAN",
    "DOXORUBICIN",
    "PEGYLATED LIPOSOMAL DOXORUBICIN",
    "PLD",
    "DOXIL",
}
BORTEZOMIB = {"BORTEZOMIB", "VELCADE"}


def _d(s: str) -> date:
    return date.fromisoformat(s)


def test_enrolment_groups_and_screen_failures(trial):
    """45 enrolled (30 regimen group A / 15 B), screen failures failing varied criteria, DM agrees."""
    assert len(trial.enrolled) == 45
    groups = [s["group"] for s in trial.enrolled]
    assert groups.count("A") == 30 and groups.count("B") == 15
    assert all((s["group"] == "B") == (s["imid_regimen"] == "true") for s in trial.enrolled)
    mismatched = [s for s in trial.enrolled if s["armcd"] != s["group"]]
    assert 1 <= len(mismatched) <= 2
    sf = [s for s in trial.subjects if s["is_screen_failure"] == "true"]
    crits = {c for s in sf for c in s["failed_criteria"].split(";")}
    assert len(sf) >= 5 and len(crits) >= 5 and all(s["failed_criteria"] for s in sf)
    dm = latest(read_domain(trial.landing, "dm"), ("USUBJID",))
    for s in trial.subjects:
        row = dm[(s["usubjid"],)]
        assert row["ARMCD"] == s["armcd"]
        if s["is_screen_failure"] == "true":
            assert row["ARMCD"] == "SCRNFAIL" and row["RFSTDTC"] == ""
        else:
            assert row["DOSELVL"] == s["doselvl"] and row["COHORT"] == s["cohort"]
            assert row["RFSTDTC"] == s["first_dose_date"]
            assert row["ARM"] == P.ARM_TEXT[row["ARMCD"]]


def _index_regimen(cm_rows: list[dict], grpid: str) -> tuple[list[tuple[date, float]], set[str]]:
    doses, partners = [], set()
    for r in cm_rows:
        if r["CMGRPID"] != grpid:
            continue
        if r["CMTRT"].upper() in BORTEZOMIB:
            doses.append((_d(r["CMSTDTC"]), float(r["CMDOSE"])))
        else:
            partners.add(r["CMTRT"].upper())
    return sorted(doses), partners


def _e2(doses: list[tuple[date, float]]) -> bool:
    ok = [d for d, v in doses if v >= 1.0]
    return any((ok[i + 3] - ok[i]).days <= 27 for i in range(len(ok) - 3))


def test_prior_therapy_supports_eligibility(trial):
    """Enrolled subjects meet E1-E4 on the CM/RS data; each screen failure's data breaks its criteria."""
    cm = defaultdict(list)
    for r in read_domain(trial.landing, "cm"):
        assert r["CMCAT"] in ("PRIOR MYELOMA THERAPY", "SUBSEQUENT MYELOMA THERAPY", SUPPORTIVE)
        if r["CMCAT"] == "PRIOR MYELOMA THERAPY":
            cm[r["USUBJID"]].append(r)
    pd_rows = {
        (r["USUBJID"], r["RSLNKGRP"]): _d(r["RSDTC"])
        for r in read_domain(trial.landing, "rs")
        if r["EPOCH"] == "PRIOR THERAPY" and r["RSSTRESC"] == "PD"
    }
    for s in trial.subjects:
        doses, partners = _index_regimen(cm[s["usubjid"]], s["index_grpid"])
        pd = pd_rows[(s["usubjid"], s["index_grpid"])]
        e1 = bool(partners)
        e2 = _e2(doses)
        e3 = doses[0][0] <= pd <= date.fromordinal(doses[-1][0].toordinal() + 84)
        e4 = partners <= ALLOWED
        met = {"E1": e1, "E2": e2, "E3": e3, "E4": e4}
        if s["is_screen_failure"] == "false":
            assert all(met.values()), (s["usubjid"], met)
        else:
            for c in s["failed_criteria"].split(";"):
                if c in met:
                    assert not met[c], (s["usubjid"], c)
    assert any(
        r["CMTRT"]
        in ("Medrol", "Revlimid", "PLD", "Cytoxan", "Decadron", "Alkeran", "Thalomid", "Doxil")
        for rows in cm.values()
        for r in rows
    )


def test_three_plus_three_path(trial):
    """The per-level summary follows from the escalation subjects' DLTs and the 3+3 rules."""
    by_level = defaultdict(lambda: [0, 0, 0])
    for s in trial.enrolled:
        if s["cohort"] == "ESCALATION":
            lv = by_level[s["doselvl"]]
            lv[0] += 1
            lv[1] += s["dlt_evaluable"] == "true"
            lv[2] += s["is_dlt"] == "true"
    mtd = trial.study["mtd"]
    exceeded = []
    for row in trial.escalation:
        treated, ev, dlts = by_level.get(row["doselvl"], [0, 0, 0])
        assert (int(row["treated"]), int(row["dlt_evaluable"]), int(row["dlts"])) == (
            treated,
            ev,
            dlts,
        )
        if row["decision"] == "escalate":
            assert ev in (3, 6) and (dlts == 0 or (ev == 6 and dlts <= 1))
        if row["decision"] == "exceeds_mtd":
            assert dlts >= 2
            exceeded.append(float(row["doselvl"]))
        if row["decision"] == "mtd":
            assert ev >= 6 and dlts <= 1 and float(row["doselvl"]) == mtd
    if mtd is not None:
        assert min(exceeded) > mtd
        assert {s["doselvl"] for s in trial.enrolled if s["cohort"] == "EXPANSION"} == {f"{mtd:g}"}


def test_dlt_evaluability_follows_domain_rule_in_ex(trial):
    """DLT-evaluable (domain.md 5) = all six cycle-1 carfilzomib doses given in EX, or a DLT.

    The 3+3 playout counts exactly these subjects, and replaces the others: the default trial
    has escalation subjects stopped in cycle 1 for early PD and subjects who missed a dose,
    none of them counted, and the level's evaluable count still reaches 3 or 6.
    """
    ex = defaultdict(int)
    for r in latest(read_domain(trial.landing, "ex"), ("USUBJID", "EXTRT", "EXSTDTC")).values():
        if r["EXTRT"] == "CARFILZOMIB" and r["VISIT"].startswith("C1D") and float(r["EXDOSE"]) > 0:
            ex[r["USUBJID"]] += 1
    esc = [s for s in trial.enrolled if s["cohort"] == "ESCALATION"]
    for s in esc:
        assert int(s["cycle1_doses_given"]) == ex[s["usubjid"]], s["usubjid"]
        assert (s["dlt_evaluable"] == "true") == (ex[s["usubjid"]] == 6 or s["is_dlt"] == "true"), (
            s["usubjid"]
        )
    replaced = [s for s in esc if s["dlt_evaluable"] == "false"]
    assert any(
        s["stop_reason"] == "PD" and s["assessment_categories"].startswith("PD PD")
        for s in replaced
    )
    assert any(not s["assessment_categories"].startswith("PD PD") for s in replaced)
    for row in trial.escalation:
        if row["decision"] in ("escalate", "mtd", "exceeds_mtd", "top_dose_safe"):
            assert int(row["dlt_evaluable"]) in (3, 6) or int(row["dlts"]) >= 2
    assert sum(int(r["treated"]) for r in trial.escalation) > sum(
        int(r["dlt_evaluable"]) for r in trial.escalation
    )


BLEEDING = ("Epistaxis", "Haematoma", "Petechiae")


def _ae_by_subject(trial) -> dict[str, list[dict]]:
    ae = defaultdict(list)
    for r in latest(read_domain(trial.landing, "ae"), ("USUBJID", "AESPID")).values():
        ae[r["USUBJID"]].append(r)
    return ae


def _cycle2_delay(trial) -> dict[str, int]:
    """Days by which C2D1 came later than C1D1 + 28, from the carfilzomib EX rows."""
    d1 = defaultdict(dict)
    for r in latest(read_domain(trial.landing, "ex"), ("USUBJID", "EXTRT", "EXSTDTC")).values():
        if r["EXTRT"] == "CARFILZOMIB" and r["VISIT"] in ("C1D1", "C2D1"):
            d1[r["USUBJID"]][r["VISIT"]] = _d(r["EXSTDTC"])
    return {u: (v["C2D1"] - v["C1D1"]).days - 28 for u, v in d1.items() if len(v) == 2}


def _dlt_rule(r: dict, rows: list[dict], delay2: int | None) -> str | None:
    """The domain.md 5 DLT rule a related cycle-1 AE meets (None: none)."""
    g = int(r["AETOXGR"])
    dur = (_d(r["AEENDTC"]) - _d(r["AESTDTC"])).days if len(r["AEENDTC"]) == 10 else 99
    heme = r["AEDECOD"] in ("Neutropenia", "Thrombocytopenia", "Anaemia", "Febrile neutropenia")
    if r["AEDECOD"] == "Febrile neutropenia":
        return "febrile neutropenia"
    if r["AEDECOD"] == "Thrombocytopenia" and g == 4:
        return "grade 4 thrombocytopenia"
    if (
        r["AEDECOD"] == "Thrombocytopenia"
        and g == 3
        and any(
            b["AEDECOD"] in BLEEDING
            and b["AESTDTC"] <= r["AEENDTC"]
            and b["AEENDTC"] >= r["AESTDTC"]
            for b in rows
        )
    ):
        return "grade 3 thrombocytopenia with bleeding"
    if r["AEDECOD"] == "Neutropenia" and g == 4 and dur > 7:
        return "grade 4 neutropenia > 7 days"
    if (
        not heme
        and g >= 3
        and not (r["AEDECOD"] in ("Nausea", "Vomiting", "Diarrhoea") and g == 3 and dur <= 3)
    ):
        return "non-haematologic grade >= 3"
    if r["AEACN"] == "DRUG INTERRUPTED" and delay2 is not None and delay2 > 14:
        return "cycle 2 delayed > 14 days"
    return None


def test_dlt_flags_follow_the_rule_in_the_ae_data(trial):
    """DLT subjects have a qualifying cycle-1 event flagged AEDLT=Y; other escalation subjects have none."""
    ae = _ae_by_subject(trial)
    delay2 = _cycle2_delay(trial)
    for s in trial.enrolled:
        if s["cohort"] != "ESCALATION":
            continue
        fd = _d(s["first_dose_date"])
        qualifying = []
        for r in ae[s["usubjid"]]:
            day = (_d(r["AESTDTC"]) - fd).days + 1
            if not 1 <= day <= 28 or r["AEREL"] not in ("POSSIBLE", "PROBABLE", "DEFINITE"):
                continue
            if _dlt_rule(r, ae[s["usubjid"]], delay2.get(s["usubjid"])):
                qualifying.append(r)
        assert bool(qualifying) == (s["is_dlt"] == "true"), s["usubjid"]
        if qualifying:
            assert any(r["AEDLT"] == "Y" for r in qualifying)


def test_grade3_thrombocytopenia_with_bleeding(trial):
    """Bleeding AEs (grade 1-2) overlap grade >= 3 thrombocytopenia, with a platelet count < 50 x 10^9/L
    behind it; in one escalation subject it is their cycle-1 DLT (grade 3, not 4: the bleeding rule)."""
    ae = _ae_by_subject(trial)
    plat = defaultdict(list)
    for r in read_domain(trial.landing, "lb"):
        key, v = to_standard(r)
        if key == "PLAT" and v is not None:
            plat[r["USUBJID"]].append((_d(r["LBDTC"]), v))
    pairs = []
    for u, rows in ae.items():
        for t in rows:
            if (
                t["AEDECOD"] != "Thrombocytopenia"
                or int(t["AETOXGR"]) < 3
                or len(t["AEENDTC"]) != 10
            ):
                continue
            for b in rows:
                if (
                    b["AEDECOD"] in BLEEDING
                    and b["AESTDTC"] <= t["AEENDTC"]
                    and b["AEENDTC"] >= t["AESTDTC"]
                ):
                    assert int(b["AETOXGR"]) <= 2 and b["AEBODSYS"]
                    assert (
                        min(v for d, v in plat[u] if _d(t["AESTDTC"]) <= d <= _d(t["AEENDTC"])) < 50
                    )
                    pairs.append((u, t, b))
    assert len(pairs) >= 2
    by_id = {s["usubjid"]: s for s in trial.enrolled}
    dlt = [(u, t) for u, t, _b in pairs if by_id[u]["cohort"] == "ESCALATION" and t["AEDLT"] == "Y"]
    assert any(int(t["AETOXGR"]) == 3 and by_id[u]["is_dlt"] == "true" for u, t in dlt)


def test_cycle2_delay_dlt(trial):
    """An escalation subject's only DLT is a grade-2 related toxicity that interrupted cycle 1 and
    delayed cycle 2 by more than 14 days (EX: C2D1 later than C1D1 + 28 + 14)."""
    ae = _ae_by_subject(trial)
    delay2 = _cycle2_delay(trial)
    found = []
    for s in trial.enrolled:
        if s["cohort"] != "ESCALATION" or s["is_dlt"] != "true":
            continue
        fd = _d(s["first_dose_date"])
        rules = {
            _dlt_rule(r, ae[s["usubjid"]], delay2.get(s["usubjid"]))
            for r in ae[s["usubjid"]]
            if 1 <= (_d(r["AESTDTC"]) - fd).days + 1 <= 28
            and r["AEREL"] in ("POSSIBLE", "PROBABLE", "DEFINITE")
        }
        if rules - {None} == {"cycle 2 delayed > 14 days"}:
            assert 14 < delay2[s["usubjid"]] <= 21
            found.append(s["usubjid"])
    assert found
    # non-DLT escalation subjects are never delayed that long
    assert all(
        delay2.get(s["usubjid"], 0) <= 14
        for s in trial.enrolled
        if s["cohort"] == "ESCALATION" and s["is_dlt"] == "false"
    )


def test_new_anti_myeloma_therapy_after_pd_or_off_study(trial):
    """Some subjects start a new anti-myeloma regimen (CM, not PRIOR MYELOMA THERAPY) after confirmed PD
    or after stopping for toxicity; then TTP is censored at the last assessment before it."""
    new = defaultdict(list)
    for r in read_domain(trial.landing, "cm"):
        if r["CMCAT"] not in ("PRIOR MYELOMA THERAPY", SUPPORTIVE):
            new[r["USUBJID"]].append(r)
    assert len(new) >= 3
    rs = defaultdict(list)
    for r in read_domain(trial.landing, "rs"):
        if r["RSTESTCD"] == "OVRLRESP" and r["EPOCH"] != "PRIOR THERAPY":
            rs[r["USUBJID"]].append(_d(r["RSDTC"]))
    by_id = {s["usubjid"]: s for s in trial.enrolled}
    after_tox = []
    for u, rows in new.items():
        s = by_id[u]
        start = {_d(r["CMSTDTC"]) for r in rows}
        assert len(start) == 1 and {r["CMENDTC"] for r in rows} == {""}
        start_d = start.pop()
        assert start_d.isoformat() == s["new_therapy_date"]
        assert {r["CMTRT"].upper() for r in rows} <= {
            "POMALIDOMIDE",
            "POMALYST",
            "DARATUMUMAB",
            "DEXAMETHASONE",
            "DECADRON",
            "BENDAMUSTINE",
            "PREDNISONE",
        }
        assert start_d > _d(s["last_dose_date"])  # off study treatment first
        assert s["stop_reason"] in ("PD", "TOX")
        if s["stop_reason"] == "PD":
            assert start_d > _d(s["pd_date"]) and s["ttp_event"] == "1"
        else:
            after_tox.append(u)
            assert s["ttp_event"] == "0"
            censor = _d(s["first_dose_date"]).toordinal() + int(s["ttp_days"]) - 1
            assert censor < start_d.toordinal()
    # at least one subject has a response assessment after starting new therapy (so it must be ignored)
    assert any(max(rs[u]) > _d(by_id[u]["new_therapy_date"]) for u in after_tox)
    assert {s["stop_reason"] for s in trial.enrolled if s["new_therapy_date"]} == {"PD", "TOX"}


def test_carfilzomib_schedule_and_maintenance_dose(trial):
    """Carfilzomib on days 1, 2, 8, 9, 15, 16 of 28-day cycles, <= 8 combination cycles, maintenance at the last dose.

    VISIT is "CnDd" (feeds.md) in both phases: maintenance cycles continue the numbering
    (C9D1 is the first maintenance cycle after 8 combination cycles) and EPOCH tells the phase.
    """
    ex = defaultdict(list)
    for r in latest(read_domain(trial.landing, "ex"), ("USUBJID", "EXTRT", "EXSTDTC")).values():
        ex[r["USUBJID"]].append(r)
    n_maint = 0
    for s in trial.enrolled:
        rows = sorted(
            (r for r in ex[s["usubjid"]] if r["EXTRT"] == "CARFILZOMIB"), key=lambda r: r["EXSTDTC"]
        )
        assert rows and rows[0]["EXSTDTC"] == s["first_dose_date"] and rows[0]["VISIT"] == "C1D1"
        d1 = {}
        for r in rows:
            assert re.fullmatch(r"C\d+D\d+", r["VISIT"]), r["VISIT"]
            cyc, day = r["VISIT"][1:].split("D")
            assert int(day) in P.CARFILZOMIB_DAYS and r["EXDOSU"] == "mg/m2"
            if int(day) == 1:
                d1[int(cyc)] = _d(r["EXSTDTC"])
            else:
                assert (_d(r["EXSTDTC"]) - d1[int(cyc)]).days == int(day) - 1
            if r["EXDOSE"] == "0":
                assert r["EXADJ"].startswith("HELD")
            assert r["EPOCH"] == (
                "MAINTENANCE" if int(cyc) > P.N_COMBINATION_CYCLES else "TREATMENT"
            )
        combo = [c for c in d1 if c <= P.N_COMBINATION_CYCLES]
        assert len(combo) <= 8
        partners = {r["EXTRT"] for r in ex[s["usubjid"]]} - {"CARFILZOMIB"}
        assert partners == set(s["index_regimen"].split("+")[1:])
        maint = [r for r in rows if r["EPOCH"] == "MAINTENANCE" and r["EXDOSE"] != "0"]
        if maint:
            n_maint += 1
            last_combo = [r for r in rows if r["EPOCH"] == "TREATMENT" and r["EXDOSE"] != "0"][-1]
            assert {r["EXDOSE"] for r in maint} == {last_combo["EXDOSE"]}
            assert s["entered_maintenance"] == "true"
            assert min(r["EXSTDTC"] for r in maint) == s["maint_start_date"]
    assert n_maint >= 5


def test_every_imwg_category_and_time_to_event(trial):
    """sCR..PD as best responses, confirmed and unconfirmed responses, TTP events and censoring, mPFS events."""
    best = {s["true_best_response"] for s in trial.enrolled}
    assert {"sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"} <= best
    unconfirmed = [
        s
        for s in trial.enrolled
        if RANK[s["best_unconfirmed_response"]] > RANK.get(s["true_best_response"], -1)
        and RANK[s["best_unconfirmed_response"]] >= RANK["MR"]
    ]
    assert unconfirmed
    ttp = [int(s["ttp_event"]) for s in trial.enrolled]
    assert 0 < sum(ttp) < len(ttp)
    assert any(s["mpfs_event"] == "1" for s in trial.enrolled)
    assert any(s["death_cause"] == "PROGRESSIVE DISEASE" for s in trial.enrolled)
    for s in trial.enrolled:
        if s["ttp_event"] == "1":
            assert (_d(s["pd_date"]) - _d(s["first_dose_date"])).days + 1 == int(s["ttp_days"])


def test_truth_best_response_recomputed_from_feeds(trial):
    """Reading the feeds back (latest delivery wins, units converted; assessments on or after the
    start of new anti-myeloma therapy in CM ignored) gives the truth's best response."""
    lb = defaultdict(lambda: defaultdict(dict))
    for r in latest(
        read_domain(trial.landing, "lb"), ("USUBJID", "LBTESTCD", "LBSPEC", "LBDTC")
    ).values():
        key, val = to_standard(r)
        if r["LBTESTCD"] == "IMFIX":
            lb[r["USUBJID"]][r["LBDTC"]][f"IMFIX/{r['LBSPEC']}"] = r["LBORRES"] == "POSITIVE"
        elif val is not None:
            lb[r["USUBJID"]][r["LBDTC"]][key] = val
    skel = {
        (r["USUBJID"], r["RSDTC"])
        for r in read_domain(trial.landing, "rs")
        if r["RSTESTCD"] == "SKELSURV" and r["RSSTRESC"] == "PROGRESSION"
    }
    new_therapy: dict[str, str] = {}
    for r in read_domain(trial.landing, "cm"):
        if r["CMCAT"] == "SUBSEQUENT MYELOMA THERAPY":
            new_therapy[r["USUBJID"]] = min(
                new_therapy.get(r["USUBJID"], r["CMSTDTC"]), r["CMSTDTC"]
            )
    checked = 0
    for s in trial.enrolled:
        days = lb[s["usubjid"]]
        fd = s["first_dose_date"]
        nt = new_therapy.get(s["usubjid"])

        def panel(v: dict) -> Panel:
            return Panel(
                v.get("MPROTEIN/SERUM"),
                v.get("MPROTEIN/URINE"),
                v.get("IMFIX/SERUM"),
                v.get("IMFIX/URINE"),
                v.get("KLCFR"),
                v.get("LLCFR"),
                v.get("PLSCECE"),
            )

        bmpc0 = [v["PLSCECE"] for d, v in sorted(days.items()) if d <= fd and "PLSCECE" in v][-1]
        a = ImwgAssessor(panel(days[fd]), bmpc0)
        for d, v in sorted(days.items()):
            if d > fd and "MPROTEIN/SERUM" in v:
                a.assess((_d(d) - _d(fd)).days, panel(v), (s["usubjid"], d) in skel)
        nt_day = (
            (_d(nt) - _d(fd)).days if nt else None
        )  # assessments on or after new therapy are ignored
        assert (
            compute_best_response(a.history, new_therapy_day=nt_day).best == s["true_best_response"]
        ), s["usubjid"]
        checked += 1
    assert checked == 45


def test_early_label_is_predictable_but_imperfectly(trial):
    """C1D15 M-protein change and the covariate-only oracle both carry real, imperfect signal."""
    from sklearn.metrics import roc_auc_score

    y = [int(s["early_label"]) for s in trial.enrolled]
    assert 8 <= sum(y) <= 37
    oracle = [float(s["true_response_prob"]) for s in trial.enrolled]
    auc = roc_auc_score(y, oracle)
    assert 0.6 < auc < 0.95
    assert abs(sum(oracle) / len(oracle) - sum(y) / len(y)) < 0.2
    lb = latest(
        read_domain(trial.landing, "lb"), ("USUBJID", "LBTESTCD", "LBSPEC", "LBDTC")
    ).values()
    serum = defaultdict(dict)
    for r in lb:
        key, v = to_standard(r)
        if key == "MPROTEIN/SERUM" and v is not None:
            serum[r["USUBJID"]][r["VISIT"]] = v
    xs, ys = [], []
    for s, lab in zip(trial.enrolled, y, strict=True):
        v = serum[s["usubjid"]]
        if v.get("C1D1", 0) >= 1.0 and "C1D15" in v:
            xs.append(-(v["C1D15"] - v["C1D1"]) / v["C1D1"])
            ys.append(lab)
    assert 0.7 < roc_auc_score(ys, xs) < 1.0


def test_thrombocytopenia_nadir_days_8_to_15(trial):
    plat = defaultdict(list)
    for r in read_domain(trial.landing, "lb"):
        key, v = to_standard(r)
        if key == "PLAT" and v is not None and r["VISIT"][:1] == "C":
            plat[r["VISIT"].split("D")[-1]].append(v)
    mean = {d: sum(v) / len(v) for d, v in plat.items()}
    assert mean["8"] < 0.8 * mean["1"] and mean["15"] < 0.8 * mean["1"]


def test_every_discontinuation_for_an_ae_has_the_ae_that_caused_it(trial):
    """A DS end of treatment for ADVERSE EVENT always has its AE: AEACN DRUG WITHDRAWN, started
    on or before the DS date, on the truth's withdrawal_ae_date; only subjects stopped for
    toxicity carry one."""
    ae = latest(read_domain(trial.landing, "ae"), ("USUBJID", "AESPID"))
    withdrawn = defaultdict(list)
    for r in ae.values():
        if r["AEACN"] == "DRUG WITHDRAWN":
            withdrawn[r["USUBJID"]].append(r["AESTDTC"])
    by_id = {s["usubjid"]: s for s in trial.enrolled}
    stops = [
        r
        for r in read_domain(trial.landing, "ds")
        if r["DSSCAT"] == "END OF TREATMENT" and r["DSDECOD"] == "ADVERSE EVENT"
    ]
    assert len(stops) >= 3
    for r in stops:
        u = r["USUBJID"]
        assert [d for d in withdrawn[u] if d <= r["DSSTDTC"]] == [by_id[u]["withdrawal_ae_date"]]
        assert by_id[u]["stop_reason"] == "TOX" and by_id[u]["last_dose_date"] <= r["DSSTDTC"]
    assert all(by_id[u]["stop_reason"] == "TOX" for u in withdrawn)


def test_treated_subjects_get_supportive_care_as_the_truth_lists_it(trial):
    """Every treated subject has supportive CM rows (CMCAT SUPPORTIVE CARE), exactly those of
    truth/concomitant_medications.csv: an antiviral for each, antithrombotics only with an
    IMiD regimen, some with no start date (history) or no end (still given), each record
    told apart by its natural key; on-study use follows domain.md 5."""
    import csv

    from cfz_platform.simulate.supportive_care import compute_cm_on_study

    with open(trial.truth / "concomitant_medications.csv", encoding="utf-8") as fh:
        truth = list(csv.DictReader(fh))
    rows = [r for r in read_domain(trial.landing, "cm") if r["CMCAT"] == SUPPORTIVE]
    assert sorted((r["USUBJID"], r["CMTRT"], r["CMSTDTC"], r["CMENDTC"]) for r in rows) == sorted(
        (t["usubjid"], t["cmtrt"], t["cmstdtc"], t["cmendtc"]) for t in truth
    )
    treated = {s["usubjid"]: s for s in trial.enrolled if s["saffl"] == "true"}
    assert {r["USUBJID"] for r in rows} == set(treated)
    classes = defaultdict(set)
    for t in truth:
        classes[t["usubjid"]].add(t["cmclas"])
        s = treated[t["usubjid"]]
        st = _d(t["cmstdtc"]).toordinal() if t["cmstdtc"] else None
        en = _d(t["cmendtc"]).toordinal() if t["cmendtc"] else None
        fd, ld = (_d(s["first_dose_date"]).toordinal(), _d(s["last_dose_date"]).toordinal())
        assert (t["is_on_study"] == "true") == compute_cm_on_study(st, en, fd, ld)
        assert t["is_new_anti_myeloma_therapy"] == "false"
    assert sum("antiviral" in c for c in classes.values()) >= 0.85 * len(treated)
    assert all(
        treated[u]["imid_regimen"] == "true" for u, c in classes.items() if "antithrombotic" in c
    )
    assert any(t["cmstdtc"] == "" for t in truth) and any(t["cmendtc"] == "" for t in truth)
    assert {t["is_on_study"] for t in truth} == {"true", "false"}
    keys = [
        (r["USUBJID"], r["CMTRT"].upper(), r["CMSTDTC"]) for r in read_domain(trial.landing, "cm")
    ]
    assert all(keys.count((r["USUBJID"], r["CMTRT"].upper(), r["CMSTDTC"])) == 1 for r in rows)
    # the on-study rule's hand-worked edges (first dose day 100, last dose day 200)
    assert compute_cm_on_study(100, None, 100, 200) and compute_cm_on_study(230, 231, 100, 200)
    assert not compute_cm_on_study(231, 240, 100, 200) and not compute_cm_on_study(
        None, 99, 100, 200
    )
    assert compute_cm_on_study(None, None, 100, 200) and compute_cm_on_study(50, 100, 100, 200)
