"""One subject's course on study: labs, assessments, dosing, AEs, RS, VS, deaths.

Steps of ``simulate_subject`` (enrolled subject):
1. baseline traits (disease type, M-protein, FLC, beta2M, albumin, ECOG, counts, marrow) and
   latent kinetics (``kinetics.draw_kinetics``);
2. prior therapy (CM, RS PRIOR THERAPY) and the screening visit (full panel, marrow,
   skeletal survey, ECOG, vitals);
3. up to 8 combination cycles of 28 days: day-1 visit (myeloma panel from C2, assessment,
   investigator response, ECOG, vitals), cycle-1 day 8/15 panels for early kinetics, CBC on
   days 8 and 15 (platelet nadir days 8-15), AEs (haematologic ones from the counts, with a
   bleeding AE now and then beside grade >= 3 thrombocytopenia), the cycle-1 DLT of the
   escalation plan (its kind: grade 4 / grade 3 + bleeding thrombocytopenia, grade 4
   neutropenia > 7 days, febrile neutropenia, grade 3 non-haematologic, or a grade 2
   toxicity that interrupts cycle 1 and delays cycle 2 by 15-21 days), holds/reductions/
   delays, carfilzomib on days 1, 2, 8, 9, 15, 16 and the regimen's partner drugs;
4. stop at confirmed PD (2 consecutive M-protein PDs, or imaging), death, toxicity or cutoff;
5. final assessment 28 days after the last combination cycle ends (EOT), then maintenance
   (single-agent carfilzomib at the last dose, cycles numbered on: VISIT C9D1, ...) for those
   without PD, until PD/death/cutoff;
6. deaths: from PD after confirmed PD (AE "Disease progression", grade 5) or from an AE;
   some subjects start a new anti-myeloma regimen (CM, CMCAT SUBSEQUENT MYELOMA THERAPY)
   after PD or after stopping for toxicity (then before their final assessment);
7. the truth row: IMWG best response by the simulator's own rules (no confirmation across
   new therapy), the early labels, TTP (censored before new therapy) and maintenance PFS,
   DLT-evaluability from the cycle-1 doses actually given, and the Monte-Carlo response
   probabilities.
Missing visits (feed mess) are decided here with a separate generator and treated as visits
that were not done, so the truth reflects them.

Scenarios (``plan.scenario``, simulate/scenarios.py) hook in where they happen: high-nadir
kinetics in the traits; partial prior-therapy dates in ``build_prior_therapy``; a cycle-1
death before C1D8; consent withdrawn before a day-1 visit; new therapy started on a day-1
assessment (or on the PD-confirming assessment); carfilzomib held on C1D1 in ``_dose_cycle``;
an ongoing AE (``_ongoing_ae``) and a month-only AE start before the AE rows are written;
the escalation DLT kind GI_ONGOING (grade-3 GI event with no end date).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.kinetics import (
    Covariates,
    Kinetics,
    compute_factor,
    compute_flc_factor,
    compute_label_prob,
    compute_responder_prob,
    draw_kinetics,
)
from cfz_platform.simulate.labs import CHEM, LabEmitter
from cfz_platform.simulate.prior_therapy import build_prior_therapy
from cfz_platform.simulate.records import TAG_DM_FIRST, Record, iso
from cfz_platform.simulate.response import RANK, ImwgAssessor, Panel, compute_best_response
from cfz_platform.simulate.safety import (
    BLEEDING,
    DELAY_TERMS,
    DLT_NONHEME,
    FATAL,
    GI_TERMS,
    HEME,
    NONHEME,
    AdverseEvent,
    ae_records,
    draw_nonheme,
)
from cfz_platform.simulate.subjects import SubjectPlan
from cfz_platform.simulate.truth_rules import CRITERIA, compute_dlt, compute_eligibility

NORMAL_FLC = {"K": 1.3, "L": 1.6}  # normal free kappa / lambda, mg/dL
LOWER = {56.0: 45.0, 45.0: 36.0, 36.0: 27.0, 27.0: 20.0, 20.0: 15.0, 15.0: 15.0}


@dataclass
class Missing:
    """A visit that was not done (reported in errors.csv as missing_visit)."""

    usubjid: str
    visit: str
    day: int


@dataclass
class SubjectResult:
    records: list[Record]
    truth: dict
    missing: list[Missing] = field(default_factory=list)


def _noise(rng: np.random.Generator) -> float:
    return float(np.exp(rng.normal(0.0, P.ASSAY_CV)))


def _grade_plat(v: float) -> int:
    return 4 if v < 25 else 3 if v < 50 else 2 if v < 75 else 1 if v < 150 else 0


def _grade_neut(v: float) -> int:
    return 4 if v < 0.5 else 3 if v < 1.0 else 2 if v < 1.5 else 1 if v < 2.0 else 0


def _grade_hgb(v: float) -> int:
    return 3 if v < 8.0 else 2 if v < 10.0 else 1 if v < 12.0 else 0


class SubjectSim:
    """State of one subject while their course is generated."""

    def __init__(self, plan: SubjectPlan, cutoff: int, rng: np.random.Generator,
                 mess_rng: np.random.Generator, miss_rate: float):
        self.p = plan
        self.cutoff = cutoff
        self.rng = rng
        self.mrng = mess_rng
        self.miss_rate = miss_rate
        self.records: list[Record] = []
        self.missing: list[Missing] = []
        self.lab = LabEmitter(plan.usubjid, plan.site, plan.index, self.records)
        self.events: list[AdverseEvent] = []
        self.cycle1_given = 0  # carfilzomib doses given in cycle 1 (DLT-evaluability)
        self.doses_given = 0  # EX rows with a dose given, any study drug (safety population)
        self.partners_given: set[str] = set()  # partner drugs with a dose given (E7 reads EX)
        self._traits()
        if plan.scenario == "nadir-above-5":
            self._high_nadir_traits()

    # ------------------------------------------------------------------ traits
    def _traits(self) -> None:
        r = self.rng
        sf_e6 = "E6" in self.p.fails
        self.dtype = str(r.choice(["IGG", "IGA", "LIGHT_CHAIN"], p=[0.55, 0.25, 0.20]))
        if sf_e6 and self.dtype == "LIGHT_CHAIN":
            self.dtype = "IGG"
        self.chain = "K" if r.random() < 0.6 else "L"
        if self.dtype != "LIGHT_CHAIN":
            self.m0 = float(np.clip(r.lognormal(np.log(3.0), 0.45), 1.3, 9.0))
            u = r.random()
            self.u0 = 0.0 if u < 0.3 else float(np.clip(r.lognormal(np.log(600), 0.6), 260, 5000)) if u < 0.55 \
                else float(r.uniform(25, 170))
            self.exc0 = float(np.clip(r.lognormal(np.log(6.0), 0.9), 0.5, 200))
        else:
            self.m0 = 0.0
            self.u0 = float(np.clip(r.lognormal(np.log(800), 0.6), 260, 8000)) if r.random() < 0.65 \
                else float(r.uniform(25, 150))
            self.exc0 = float(np.clip(r.lognormal(np.log(60), 0.6), 15, 800))
        if sf_e6:
            self.m0, self.u0, self.exc0 = float(r.uniform(0.3, 0.85)), float(r.uniform(0, 150)), float(r.uniform(0.5, 4))
        other = "L" if self.chain == "K" else "K"
        self.inorm, self.unorm = NORMAL_FLC[self.chain], NORMAL_FLC[other]
        self.unv0 = self.unorm * float(r.uniform(0.3, 0.8))  # suppressed uninvolved chain
        # persistent (oligoclonal) involved FLC in some: keeps the ratio abnormal in CR (CR, not sCR)
        self.flc_floor = 0.0 if r.random() < 0.55 else (float(r.uniform(0.9, 3.0)) if self.chain == "K"
                                                         else float(r.uniform(3.8, 7.0)))
        self.b2m = float(np.clip(r.lognormal(np.log(3.6), 0.5), 1.2, 20.0))
        self.alb = float(np.clip(r.normal(3.6, 0.5), 2.2, 4.9))
        self.ecog = int(r.choice([0, 1, 2], p=[0.35, 0.5, 0.15]))
        self.bmpc0 = float(np.clip(r.normal(40, 15), 10, 90))
        dose = self.p.dose or 36.0
        self.plat0 = float(np.clip(r.normal(190, 50), 90, 400))
        self.pdepth = float(np.clip(r.beta(2.5, 3.0) * 0.9 * (dose / 36) ** 0.4, 0.05, 0.85))
        self.neut0 = float(np.clip(r.normal(3.6, 1.0), 1.6, 8.0))
        self.ndepth = float(np.clip(r.beta(2, 5) * (dose / 36) ** 0.3, 0.02, 0.8))
        self.hgb0 = float(np.clip(r.normal(10.8, 1.4), 7.6, 15.0))
        self.lym0 = float(np.clip(r.normal(1.3, 0.4), 0.4, 3.0))
        self.chem0 = {"CREAT": float(np.clip(r.normal(1.0, 0.25), 0.5, 2.4)), "BILI": float(np.clip(r.normal(0.6, 0.2), 0.2, 1.4)),
                      "CA": float(r.normal(9.5, 0.5)), "ALT": float(np.clip(r.normal(24, 8), 8, 80)),
                      "AST": float(np.clip(r.normal(26, 8), 8, 80)), "LDH": float(np.clip(r.normal(190, 40), 100, 400)),
                      "K": float(r.normal(4.2, 0.35)), "SODIUM": float(r.normal(139, 2.5))}
        self.cov = Covariates(dose, self.b2m, self.p.imid, self.ecog, self.dtype == "LIGHT_CHAIN")
        kin = draw_kinetics(r, self.cov, 1)
        self.kin = kin
        self.responder = bool(kin.responder[0])
        self.f, self.d, self.g, self.h = (float(kin.f[0]), float(kin.d[0]), float(kin.g[0]), float(kin.h[0]))
        self.t_bone = float(r.exponential(1100.0 if self.responder else 450.0))

    def _high_nadir_traits(self) -> None:
        """Scenario nadir-above-5: IgG disease with serum M ~7-8.5 g/dL, a small sensitive fraction
        and slow regrowth, no urine or bone driver: the nadir stays above 5 g/dL and a later
        rise of >= 1 g/dL comes before the rise reaches 25%."""
        r = self.rng
        self.dtype = "IGG"
        self.m0, self.u0 = float(r.uniform(7.0, 8.5)), 0.0
        self.f, self.d, self.g = float(r.uniform(0.18, 0.28)), 0.05, float(r.uniform(0.0018, 0.0028))
        self.responder = False
        self.t_bone = 1e9
        self.kin = Kinetics(np.array([False]), np.array([self.f]), np.array([self.d]), np.array([self.g]),
                            np.array([self.h]))

    # ------------------------------------------------------------------ emitters
    def _lag(self, lo: int = 2, hi: int = 6) -> int:
        return int(self.rng.integers(lo, hi))

    def _skip_visit(self, visit: str, day: int) -> bool:
        if self.miss_rate > 0 and self.mrng.random() < self.miss_rate:
            self.missing.append(Missing(self.p.usubjid, visit, day))
            return True
        return False

    def resp_panel(self, day: int, t: float, visit: str, lag: int) -> Panel:
        """Emit the myeloma panel (SPEP, UPEP, IFE x2, FLC x2, ratio) and return it as sent."""
        r, lab = self.rng, self.lab
        k = float(compute_factor(self.f, self.d, self.g, t)) if t > 0 else 1.0
        kf = float(compute_flc_factor(self.f, self.d, self.g, self.h, t)) if t > 0 else 1.0
        s_true, u_true, exc = self.m0 * k, self.u0 * k, self.exc0 * kf
        s = s_true * _noise(r)
        s = 0.0 if s < P.SPEP_DETECTION else s
        u = u_true * _noise(r)
        u = 0.0 if u < P.UPEP_DETECTION else u
        s_sent = lab.num("MPROTEIN/SERUM", s, day, visit, lag)
        u_sent = lab.num("MPROTEIN/URINE", u, day, visit, lag)
        exc_total = exc + (self.flc_floor if t > 0 else 0.0)
        ife_s = s_true >= P.SERUM_IFE_DETECTION or (self.dtype == "LIGHT_CHAIN" and exc_total >= 0.5)
        ife_u = u_true >= P.URINE_IFE_DETECTION
        lab.text("IMFIX/SERUM", "POSITIVE" if ife_s else "NEGATIVE", day, visit, lag)
        lab.text("IMFIX/URINE", "POSITIVE" if ife_u else "NEGATIVE", day, visit, lag)
        inv = (self.inorm + exc_total) * _noise(r)
        unv = (self.unorm - (self.unorm - self.unv0) * min(1.0, k)) * _noise(r)
        kap, lam = (inv, unv) if self.chain == "K" else (unv, inv)
        k_sent = lab.num("KLCFR", kap, day, visit, lag)
        l_sent = lab.num("LLCFR", lam, day, visit, lag)
        lab.num("KLCLLCFR", k_sent / l_sent, day, visit, lag)
        return Panel(s_sent, u_sent, ife_s, ife_u, k_sent, l_sent)

    def cbc(self, day: int, visit: str, lag: int, plat: float, neut: float, hgb: float, lym: float) -> dict:
        lab = self.lab
        out = {"PLAT": lab.num("PLAT", plat, day, visit, lag), "NEUT": lab.num("NEUT", neut, day, visit, lag),
               "HGB": lab.num("HGB", hgb, day, visit, lag)}
        lab.num("LYM", lym, day, visit, lag)
        lab.num("WBC", neut + lym + 0.5 * _noise(self.rng), day, visit, lag)
        return out

    def chem(self, day: int, visit: str, lag: int, t: float) -> None:
        r = self.rng
        self.lab.num("ALB", (self.alb + (0.15 if self.responder and t > 60 else 0.0)) * _noise(r), day, visit, lag)
        for key in CHEM[1:]:
            cv = 0.03 if key in ("SODIUM", "CA", "K") else 0.1
            self.lab.num(key, self.chem0[key] * float(np.exp(r.normal(0, cv))), day, visit, lag)

    def igs(self, day: int, visit: str, lag: int, t: float) -> float:
        r = self.rng
        k = float(compute_factor(self.f, self.d, self.g, t)) if t > 0 else 1.0
        mono = self.m0 * k * 1000 * 0.9
        igg = (mono if self.dtype == "IGG" else 0) + 450 * _noise(r)
        iga = (mono if self.dtype == "IGA" else 0) + 60 * _noise(r)
        self.lab.num("IGG", igg, day, visit, lag)
        self.lab.num("IGA", iga, day, visit, lag)
        self.lab.num("IGM", 35 * _noise(r), day, visit, lag)
        return self.lab.num("B2MICG", self.b2m * (1 - 0.3 * (1 - min(1.0, k))) * _noise(r), day, visit, lag)

    def rs(self, testcd: str, value: str, day: int, visit: str, epoch: str, lag: int) -> None:
        test, cat = {"OVRLRESP": ("Overall Response", "IMWG"), "ECOG": ("ECOG Performance Status", "ECOG"),
                     "SKELSURV": ("Skeletal Survey", "IMAGING")}[testcd]
        self.records.append(Record("rs", day + lag, [P.STUDYID, "RS", self.p.usubjid, testcd, test, cat, value, value,
                                                     "INVESTIGATOR", epoch, visit, visit, iso(day)]))

    def vs(self, day: int, visit: str, lag: int, screening: bool = False) -> None:
        r = self.rng
        vals = [("SYSBP", "Systolic Blood Pressure", f"{r.normal(132, 14):.0f}", "mmHg"),
                ("DIABP", "Diastolic Blood Pressure", f"{r.normal(78, 9):.0f}", "mmHg"),
                ("PULSE", "Pulse Rate", f"{r.normal(76, 10):.0f}", "beats/min"),
                ("TEMP", "Temperature", f"{r.normal(36.7, 0.3):.1f}", "C"),
                ("WEIGHT", "Weight", f"{self.weight * float(np.exp(r.normal(0, 0.01))):.1f}", "kg")]
        if screening:
            vals.append(("HEIGHT", "Height", f"{self.height:.0f}", "cm"))
        for cd, name, v, u in vals:
            self.records.append(Record("vs", day + lag, [P.STUDYID, "VS", self.p.usubjid, cd, name, v, u, visit, iso(day)]))

    # ------------------------------------------------------------------ screening
    def screening(self, scr: int) -> None:
        r = self.rng
        self.weight = float(np.clip(r.normal(76 if self.p.sex == "M" else 64, 12), 40, 140))
        self.height = float(np.clip(r.normal(175 if self.p.sex == "M" else 162, 7), 145, 200))
        lag = self._lag()
        self.scr_panel = self.resp_panel(scr, -1.0, "SCREENING", lag)
        self.cbc(scr, "SCREENING", lag, self.plat0 * _noise(r), self.neut0 * _noise(r), self.hgb0 * _noise(r),
                 self.lym0 * _noise(r))
        self.chem(scr, "SCREENING", lag, -1.0)
        self.igs(scr, "SCREENING", lag, -1.0)
        self.bmpc_base = self.lab.num("PLSCECE", self.bmpc0 * _noise(r), scr, "SCREENING", self._lag(5, 11))
        self.vs(scr, "SCREENING", self._lag(1, 8), screening=True)
        lag = self._lag(3, 11)
        self.rs("ECOG", str(self.ecog), scr, "SCREENING", "SCREENING", lag)
        self.rs("SKELSURV", "NO NEW LESIONS", scr, "SCREENING", "SCREENING", lag)

    def dm(self, avail: int, death: int | None) -> None:
        p = self.p
        byear = date.fromordinal(p.consent).year - p.age
        row = [P.STUDYID, "DM", p.usubjid, p.subjid, p.site, iso(p.consent),
               iso(p.first_dose) if p.first_dose else "", p.armcd, P.ARM_TEXT[p.armcd], str(p.age), "YEARS",
               p.sex, p.race, str(byear), "", "", f"{p.dose:g}" if p.dose else "", p.cohort]
        self.records.append(Record("dm", avail, row, TAG_DM_FIRST))
        if death is not None:
            row2 = list(row)
            row2[14], row2[15] = iso(death), "Y"
            self.records.append(Record("dm", min(death + self._lag(3, 11), self.cutoff + P.MAX_LAG_DAYS), row2))


def simulate_screen_failure(plan: SubjectPlan, cutoff: int, rng: np.random.Generator,
                            mess_rng: np.random.Generator) -> SubjectResult:
    """A screen failure: DM (SCRNFAIL), prior therapy breaking its criteria, screening data."""
    sim = SubjectSim(plan, cutoff, rng, mess_rng, 0.0)
    scr = plan.consent + int(rng.integers(1, 5))
    prior = build_prior_therapy(rng, plan.usubjid, plan.consent, plan.partners, plan.fails,
                                int(rng.integers(3, 11)), sim.records)
    sim.screening(scr)
    sim.dm(scr + int(rng.integers(5, 15)), None)
    truth = _truth_base(sim, prior, sim.scr_panel, None)
    truth.update(is_screen_failure=True, failed_criteria=";".join(sorted(plan.fails)), saffl=False,
                 respevalfl=False, dlt_evaluable=False, is_dlt=False)
    return SubjectResult(sim.records, truth, sim.missing)


def _truth_base(sim: SubjectSim, prior, baseline: Panel, on_study_partners: tuple[str, ...] | None) -> dict:
    """Truth columns common to enrolled subjects and screen failures, with E1-E7 by rule
    (``truth_rules.compute_eligibility``) and the failed criteria they give."""
    p = sim.p
    elig = compute_eligibility(prior, baseline, on_study_partners)
    return {
        **{c.lower(): elig[c] for c in CRITERIA},
        "is_eligible": all(v == "met" for v in elig.values()),
        "criteria_not_met": ";".join(c for c in CRITERIA if elig[c] != "met"),
        "scenario": p.scenario,
        "usubjid": p.usubjid, "siteid": p.site, "armcd": p.armcd, "group": p.group,
        "imid_regimen": p.imid, "index_regimen": "+".join(("BORTEZOMIB",) + p.partners),
        "index_grpid": prior.index_grpid, "doselvl": f"{p.dose:g}" if p.dose else "", "cohort": p.cohort,
        "is_screen_failure": False, "failed_criteria": "", "disease_type": sim.dtype, "flc_chain": sim.chain,
        "m0": round(sim.m0, 4), "u0": round(sim.u0, 2), "flc_excess0": round(sim.exc0, 3),
        "f": round(sim.f, 6), "d": round(sim.d, 6), "g": round(sim.g, 6), "h": round(sim.h, 4),
        "responder": sim.responder,
    }


def _iss(b2m: float, alb: float) -> str:
    if b2m < 3.5 and alb >= 3.5:
        return "I"
    if b2m >= 5.5:
        return "III"
    return "II"


def simulate_subject(plan: SubjectPlan, cutoff: int, rng: np.random.Generator, mess_rng: np.random.Generator,
                     miss_rate: float, mc_replicas: int, seed: int = 0) -> SubjectResult:
    """Simulate one enrolled subject (see the module docstring for the steps)."""
    sim = SubjectSim(plan, cutoff, rng, mess_rng, miss_rate)
    fd = plan.first_dose
    assert fd is not None
    aux = np.random.default_rng([seed, 9, *plan.rng_key])  # bleeding, cycle-2 delay, new therapy
    scenario = plan.scenario
    prior = build_prior_therapy(rng, plan.usubjid, plan.consent, plan.partners, plan.fails,
                                int(rng.integers(3, 11)), sim.records, partial=scenario == "partial-dates")
    scr = fd - int(rng.integers(3, 8))
    sim.screening(scr)
    # baseline (C1D1, pre-dose)
    lag = sim._lag()
    base = sim.resp_panel(fd, 0.0, "C1D1", lag)
    sim.cbc(fd, "C1D1", lag, sim.plat0 * _noise(rng), sim.neut0 * _noise(rng), sim.hgb0 * _noise(rng),
            sim.lym0 * _noise(rng))
    sim.chem(fd, "C1D1", lag, 0.0)
    b2m_base = sim.igs(fd, "C1D1", lag, 0.0)
    alb_base = next(float(r.meta[1]) for r in reversed(sim.records) if r.domain == "lb" and r.meta and r.meta[0] == "ALB")
    sim.vs(fd, "C1D1", sim._lag(1, 8))
    sim.rs("ECOG", str(sim.ecog), fd, "C1D1", "TREATMENT", sim._lag(3, 11))
    assessor = ImwgAssessor(base, sim.bmpc_base)
    state = {"pending_pd": False, "stop": None, "pd_confirm": None, "marrow_done": False, "ecog": sim.ecog}

    def assess(day: int, visit: str, panel: Panel, epoch: str, investigator: bool, survey: bool, lag: int) -> None:
        t = day - fd
        if (not state["marrow_done"] and panel.ife_serum is False and panel.ife_urine is False
                and rng.random() < 0.85):
            k = float(compute_factor(sim.f, sim.d, sim.g, t))
            panel.bmpc = sim.lab.num("PLSCECE", max(0.2, sim.bmpc0 * k) * _noise(rng), day, visit, sim._lag(5, 11))
            state["marrow_done"] = True
        skel = False
        if survey:
            skel = t >= sim.t_bone
            sim.rs("SKELSURV", "PROGRESSION" if skel else "NO NEW LESIONS", day, visit, epoch, lag + 2)
        a = assessor.assess(t, panel, skel)
        if investigator:
            cat = a.category
            u = rng.random()
            if u < 0.02:
                cat = "NE"
            elif u < 0.1 and cat in RANK:
                inv = {v: k for k, v in RANK.items()}
                cat = inv[int(np.clip(RANK[cat] + (1 if rng.random() < 0.5 else -1), 0, 6))]
            sim.rs("OVRLRESP", cat, day, visit, epoch, lag + 2)
            if a.category == "PD":
                state["ecog"] = min(4, state["ecog"] + 1)
            sim.rs("ECOG", str(state["ecog"]), day, visit, epoch, lag + 2)
        if a.category == "PD":
            if a.pd_source == "imaging" or state["pending_pd"]:
                state["stop"], state["pd_confirm"] = "PD", day
            state["pending_pd"] = True
        elif a.category != "NE":
            state["pending_pd"] = False

    dose = float(plan.dose)
    reductions = 0
    cs = fd
    last_dose_day: int | None = None
    death: int | None = None
    death_cause = ""
    c4_start: int | None = None
    dlt_event = plan.esc_dlt or (plan.cohort == "EXPANSION" and rng.random() < P.DLT_PROBS[plan.dose_level_index or 0])
    esc = plan.cohort == "ESCALATION"
    cycles_done = 0
    stop_reason = None
    delay = 0  # of the next cycle's day 1, set at the end of each cycle
    c2_start: int | None = None
    new_therapy: int | None = None
    # scenarios: the cycle whose day-1 visit is not reached (consent withdrawn) or where new
    # therapy starts on the assessment day
    stop_cycle = int(aux.integers(2, 6)) if scenario in ("consent-withdrawn", "new-therapy-on-assessment") else 0
    for c in range(1, P.N_COMBINATION_CYCLES + 1):
        if c > 1:
            cs = cs + P.CYCLE_DAYS + delay
        if cs > cutoff:
            stop_reason = "CUTOFF"
            break
        if scenario == "consent-withdrawn" and c == stop_cycle:
            stop_reason = "WITHDRAWN"
            break
        if c == 2:
            c2_start = cs
        if c == 4:
            c4_start = cs
        t1 = cs - fd
        kq = float(compute_factor(sim.f, sim.d, sim.g, t1))
        resp_boost = (1 - min(1.0, kq)) if sim.responder else 0.0
        v1 = f"C{c}D1"
        if c > 1 and not (c >= 3 and sim._skip_visit(v1, cs)):
            lag = sim._lag()
            pan = sim.resp_panel(cs, t1, v1, lag)
            sim.cbc(cs, v1, lag, sim.plat0 * (1 + 0.1 * resp_boost) * float(rng.uniform(0.92, 1.0)) * _noise(rng),
                    sim.neut0 * _noise(rng), (sim.hgb0 + 1.2 * resp_boost) * _noise(rng), sim.lym0 * 0.8 * _noise(rng))
            sim.chem(cs, v1, lag, t1)
            sim.igs(cs, v1, lag, t1)
            sim.vs(cs, v1, sim._lag(1, 8))
            assess(cs, v1, pan, "TREATMENT", True, c in (4, 7), lag)
            if state["stop"]:
                stop_reason = "PD"
                break
            if scenario == "new-therapy-on-assessment" and c >= stop_cycle + 1:
                new_therapy, stop_reason = cs, "NEW THERAPY"  # started on this assessment day
                break
        # ---- counts on days 8 and 15
        pdep = sim.pdepth * float(rng.uniform(0.8, 1.2))
        ndep = sim.ndepth * float(rng.uniform(0.8, 1.2))
        dtype = None
        if c == 1 and dlt_event:
            dtype = ("PLAT4", "NEUT4", "FN", "NONHEME")[int(rng.integers(0, 4))]
            if esc and plan.esc_dlt_kind:
                dtype = plan.esc_dlt_kind
        counts = {}
        for dd, bump in ((8, rng.uniform(0.6, 1.0)), (15, rng.uniform(0.75, 1.0))):
            plat = sim.plat0 * (1 - pdep * bump) * _noise(rng)
            neut = sim.neut0 * (1 - ndep * bump) * _noise(rng)
            if c == 1 and esc and not plan.esc_dlt:
                plat, neut = max(plat, 26.0), max(neut, 0.55)
            if dtype == "PLAT4" and dd == 8:
                plat = float(rng.uniform(12, 24))
            if dtype == "PLAT3BLEED":
                plat = float(aux.uniform(27, 45)) if dd == 8 else max(plat, 30.0)
            if dtype == "NEUT4":
                neut = float(rng.uniform(0.2, 0.45))
            if dtype == "FN" and dd == 15:
                neut = float(rng.uniform(0.3, 0.9))
            counts[dd] = (plat, neut, (sim.hgb0 + 1.2 * resp_boost - 0.6 * bump) * _noise(rng),
                          sim.lym0 * (1 - 0.4 * bump) * _noise(rng))
        cyc_events: list[AdverseEvent] = []
        stop_day = cutoff
        if scenario == "early-death" and c == 1:  # before the first response assessment (C1D8)
            death = fd + int(aux.integers(2, 7))
            bodsys, term = FATAL["Sepsis"]
            cyc_events.append(AdverseEvent("Sepsis", term, bodsys, 5, death - int(aux.integers(0, 2)), death,
                                           "UNLIKELY", True))
            death_cause = "ADVERSE EVENT"
            stop_day = death - 1
        sent_counts: dict[int, dict] = {}
        for dd in (8, 15):
            day = cs + dd - 1
            if day > cutoff or day > stop_day:
                continue
            v = f"C{c}D{dd}"
            if c >= 2 and sim._skip_visit(v, day):
                continue
            lag = sim._lag()
            sent_counts[day] = sim.cbc(day, v, lag, *counts[dd])
            if c == 1:
                pan = sim.resp_panel(day, day - fd, v, lag)
                sim.chem(day, v, lag, day - fd)
                assess(day, v, pan, "TREATMENT", False, False, lag)
                if state["stop"]:
                    stop_day = day
        # ---- AEs
        n_ae = int(rng.poisson(1.0 if c == 1 else 0.6))
        nh = draw_nonheme(rng, n_ae, cs, P.CYCLE_DAYS)
        for e in nh:
            if c == 1 and esc:
                e.protect_dates = True
                if not plan.esc_dlt and e.grade >= 3 and e.related:
                    short_gi = e.decod in GI_TERMS and e.end - e.start <= 3
                    if not short_gi:
                        e.grade = 2
        cyc_events += nh
        dlt_ev = None
        if dtype == "DELAY" and (state["pending_pd"] or state["stop"]):
            dtype = "NONHEME"  # cycle 2 may not be given: make the DLT a grade 3 event instead
        if dtype in ("FN", "NONHEME", "DELAY", "GI_ONGOING"):
            on = cs + int(rng.integers(9, 20)) if dtype == "FN" else cs + int(rng.integers(2, 24))
            if dtype == "GI_ONGOING":  # grade 3 nausea/vomiting/diarrhoea, not resolved at the cut
                dec = sorted(GI_TERMS)[int(aux.integers(0, len(GI_TERMS)))]
                bodsys, terms, _w = NONHEME[dec]
                dlt_ev = AdverseEvent(dec, terms[0], bodsys, 3, on, None, "PROBABLE", False, True)
            elif dtype == "FN":
                dlt_ev = AdverseEvent("Febrile neutropenia", HEME["Febrile neutropenia"][1], HEME["Febrile neutropenia"][0],
                                      3, on, on + int(rng.integers(3, 9)), "POSSIBLE", True, True)
            else:
                dec = DLT_NONHEME[int(rng.integers(0, len(DLT_NONHEME)))]
                bodsys, terms, _w = NONHEME[dec]
                dlt_ev = AdverseEvent(dec, terms[0], bodsys, 3, on, on + int(rng.integers(5, 20)), "PROBABLE",
                                      bool(rng.random() < 0.6), True)
                if dtype == "DELAY":  # grade 2: a DLT only because it delays cycle 2 by > 14 days
                    dec = DELAY_TERMS[int(aux.integers(0, len(DELAY_TERMS)))]
                    bodsys, terms, _w = NONHEME[dec]
                    dlt_ev = AdverseEvent(dec, terms[0], bodsys, 2, min(on, cs + 15), min(on, cs + 15) + 21,
                                          "PROBABLE", False, True)
            dlt_ev.protect_dates = True
            dlt_ev.acn = "DRUG INTERRUPTED"
            cyc_events.append(dlt_ev)
        # haematologic AEs from the counts sent
        for decod, key, grader, min_g in (("Thrombocytopenia", "PLAT", _grade_plat, 2),
                                          ("Neutropenia", "NEUT", _grade_neut, 2),
                                          ("Anaemia", "HGB", _grade_hgb, 3)):
            days_g = [(d, grader(v[key])) for d, v in sorted(sent_counts.items())]
            hit = [(d, g) for d, g in days_g if g >= min_g]
            if not hit:
                continue
            onset = hit[0][0]
            grade = max(g for _, g in hit)
            end = hit[-1][0] + int(rng.integers(4, 9))
            is_dlt = False
            if c == 1 and dtype == "NEUT4" and decod == "Neutropenia":
                end = onset + int(rng.integers(9, 14))
                is_dlt = True
            if c == 1 and dtype in ("PLAT4", "PLAT3BLEED") and decod == "Thrombocytopenia":
                is_dlt = True
            bodsys, term = HEME[decod]
            ev = AdverseEvent(decod, term, bodsys, grade, onset, end, "PROBABLE", False, is_dlt)
            ev.protect_dates = c == 1 and esc
            if is_dlt:
                dlt_ev = ev
            cyc_events.append(ev)
            # bleeding with grade >= 3 thrombocytopenia: the planned DLT, or now and then outside
            # the escalation cycle 1 (where it would be a DLT the plan did not draw)
            if decod == "Thrombocytopenia" and grade >= 3 and (
                    (c == 1 and dtype == "PLAT3BLEED") or (not (c == 1 and esc) and aux.random() < 0.3)):
                bdec = tuple(BLEEDING)[int(aux.integers(0, len(BLEEDING)))]
                b_on = onset + int(aux.integers(0, 3))
                bleed = AdverseEvent(bdec, BLEEDING[bdec][1], BLEEDING[bdec][0], int(aux.integers(1, 3)), b_on,
                                     min(b_on + int(aux.integers(1, 6)), end), ("UNLIKELY", "POSSIBLE")[int(aux.integers(0, 2))])
                bleed.protect_dates = c == 1 and esc
                cyc_events.append(bleed)
        if dlt_ev is not None:
            dlt_ev.dlt = True
            dlt_ev.acn = "DRUG INTERRUPTED"
        if death is not None:  # early death: nothing starts after it
            cyc_events = [e for e in cyc_events if e.start <= death]
        # non-PD death (never in cycle 1)
        if c >= 2 and death is None and rng.random() < 0.006:
            death = cs + int(rng.integers(0, P.CYCLE_DAYS))
            cause = ("Sepsis", "Cardiac failure")[int(rng.integers(0, 2))]
            bodsys, term = FATAL[cause]
            cyc_events.append(AdverseEvent(cause, term, bodsys, 5, death - int(rng.integers(0, 6)), death,
                                           ("NOT RELATED", "UNLIKELY", "POSSIBLE")[int(rng.integers(0, 3))], True))
            death_cause = "ADVERSE EVENT"
            stop_day = min(stop_day, death - 1)
        sim.events += cyc_events
        # ---- dosing
        holds = [e for e in cyc_events if e.holds_dosing]
        for e in holds:
            if e.acn == "DOSE NOT CHANGED":
                e.acn = "DRUG INTERRUPTED"
        got = _dose_cycle(sim, c, cs, dose, float(plan.dose), holds, dlt_ev if c == 1 else None,
                          c == 1 and esc and plan.esc_missed_dose, min(stop_day, cutoff), "TREATMENT",
                          hold_day1=c == 1 and scenario == "cfz-held-c1d1")
        if got is not None:
            last_dose_day = got
        cycles_done = c
        if death is not None:
            stop_reason = "DEATH"
            break
        if state["stop"]:
            stop_reason = "PD"
            break
        if cs + P.CYCLE_DAYS > cutoff:
            stop_reason = "CUTOFF"
            break
        if holds:
            reductions += 1
            if reductions > 2:
                stop_reason = "TOX"
                break
            dose = LOWER[dose]
            delay = int(rng.integers(7, 22)) if (c == 1 and dlt_ev is not None) else int(rng.integers(7, 15))
        else:
            delay = 0 if rng.random() < 0.8 else int(rng.integers(1, 6))
        if c == 1 and dtype == "DELAY":
            delay = 15 + int(aux.integers(0, 7))  # the interrupting toxicity delays cycle 2 by 15-21 days
        if rng.random() < 0.015 and not (c == 1 and dtype == "DELAY"):
            stop_reason = "TOX"
            break
    else:
        stop_reason = "COMPLETED"
    # ---- final assessment (EOT)
    maint_start: int | None = None
    eot_day = None
    if stop_reason in ("COMPLETED", "TOX"):
        eot_day = (cs + P.CYCLE_DAYS + 27) if stop_reason == "COMPLETED" else ((last_dose_day or cs) + 28)
        if eot_day <= cutoff:
            lag = sim._lag()
            pan = sim.resp_panel(eot_day, eot_day - fd, "EOT", lag)
            sim.cbc(eot_day, "EOT", lag, sim.plat0 * _noise(rng), sim.neut0 * _noise(rng), sim.hgb0 * _noise(rng),
                    sim.lym0 * _noise(rng))
            sim.chem(eot_day, "EOT", lag, eot_day - fd)
            sim.igs(eot_day, "EOT", lag, eot_day - fd)
            sim.vs(eot_day, "EOT", sim._lag(1, 8))
            assess(eot_day, "EOT", pan, "FOLLOW-UP", True, True, lag)
            last_cat = assessor.history[-1].category
            if state["stop"]:
                stop_reason = "PD"
            elif stop_reason == "COMPLETED" and last_cat not in ("PD", "NE") and rng.random() < 0.85:
                maint_start = eot_day + int(rng.integers(1, 8))
    # ---- maintenance
    if maint_start is not None and maint_start <= cutoff:
        mdose = dose
        ms = maint_start
        m = 0
        while True:
            m += 1
            if ms > cutoff:
                break
            mc = cycles_done + m  # maintenance cycles continue the numbering (VISIT "CnDd")
            v1 = f"C{mc}D1"
            t1 = ms - fd
            if not (m >= 2 and sim._skip_visit(v1, ms)):
                lag = sim._lag()
                sim.cbc(ms, v1, lag, sim.plat0 * _noise(rng), sim.neut0 * _noise(rng), (sim.hgb0 + 1.0) * _noise(rng),
                        sim.lym0 * _noise(rng))
                sim.chem(ms, v1, lag, t1)
                if m >= 2:
                    pan = sim.resp_panel(ms, t1, v1, lag)
                    sim.vs(ms, v1, sim._lag(1, 8))
                    assess(ms, v1, pan, "MAINTENANCE", True, m % 3 == 0, lag)
                    if state["stop"]:
                        break
            d15 = ms + 14
            if d15 <= cutoff and not sim._skip_visit(f"C{mc}D15", d15):
                bump = float(rng.uniform(0.7, 1.0))
                sim.cbc(d15, f"C{mc}D15", sim._lag(), sim.plat0 * (1 - 0.7 * sim.pdepth * bump) * _noise(rng),
                        sim.neut0 * (1 - 0.7 * sim.ndepth * bump) * _noise(rng), (sim.hgb0 + 1.0) * _noise(rng),
                        sim.lym0 * 0.7 * _noise(rng))
            evs = draw_nonheme(rng, int(rng.poisson(0.35)), ms, P.CYCLE_DAYS)
            stop_day = cutoff
            if rng.random() < 0.004:
                death = ms + int(rng.integers(0, P.CYCLE_DAYS))
                cause = ("Sepsis", "Cardiac failure")[int(rng.integers(0, 2))]
                bodsys, term = FATAL[cause]
                evs.append(AdverseEvent(cause, term, bodsys, 5, death - int(rng.integers(0, 6)), death, "UNLIKELY", True))
                death_cause = "ADVERSE EVENT"
                stop_day = death - 1
            sim.events += evs
            holds = [e for e in evs if e.holds_dosing]
            got = _dose_cycle(sim, mc, ms, mdose, float(plan.dose), holds, None, False, stop_day, "MAINTENANCE")
            if got is not None:
                last_dose_day = got
            if death is not None:
                break
            ms = ms + P.CYCLE_DAYS + (0 if rng.random() < 0.8 else int(rng.integers(1, 6)))
    nt_on_pd = scenario == "new-therapy-on-assessment" and stop_reason == "PD"
    # ---- death from PD
    if state["stop"] == "PD" and death is None and not nt_on_pd and rng.random() < 0.35:
        dday = state["pd_confirm"] + int(rng.integers(15, 200))
        if dday <= cutoff:
            death, death_cause = dday, "PROGRESSIVE DISEASE"
            bodsys, term = FATAL["Disease progression"]
            sim.events.append(AdverseEvent("Disease progression", term, bodsys, 5, dday, dday, "NOT RELATED", True))
    # ---- new anti-myeloma therapy after PD or after stopping for toxicity (off study); scenario
    # new-therapy-on-assessment: on the day of the PD-confirming assessment (or a day-1 visit)
    if nt_on_pd:
        new_therapy = state["pd_confirm"]
    elif new_therapy is not None:
        pass
    elif stop_reason == "PD" and state["pd_confirm"] is not None and aux.random() < 0.6:
        new_therapy = state["pd_confirm"] + int(aux.integers(14, 43))
    elif stop_reason == "TOX" and aux.random() < 0.6:
        new_therapy = (last_dose_day or cs) + int(aux.integers(10, 27))  # before the final assessment
    if new_therapy is not None and (new_therapy > cutoff or (death is not None and new_therapy >= death)):
        new_therapy = None
    if new_therapy is not None:
        _new_therapy_records(sim, new_therapy, aux)
    if scenario == "ae-ongoing":
        _ongoing_ae(sim, fd, death, aux)
    if scenario == "partial-dates":
        later = [e for e in sim.events if e.start > fd + 27 and e.grade <= 2 and e.decod in NONHEME]
        if later:
            later[int(aux.integers(0, len(later)))].partial_start = True
    sim.records += ae_records(plan.usubjid, sim.events, cutoff, rng)
    sim.dm(fd + int(rng.integers(1, 6)), death)
    # ---- truth
    hist = assessor.history
    end_c4 = (c4_start - fd + 27) if c4_start is not None else 111
    nt_rel = (new_therapy - fd) if new_therapy is not None else None
    full = compute_best_response(hist, new_therapy_day=nt_rel)
    early = compute_best_response(hist, until_day=end_c4, new_therapy_day=nt_rel)
    days = np.array([a.day for a in hist if a.day <= end_c4], dtype=float)
    mc_rng = np.random.default_rng([seed, 7, *plan.rng_key])
    prob_latent = compute_label_prob(mc_rng, Kinetics(*(np.repeat(np.atleast_1d(x), mc_replicas) for x in
                                                        (sim.kin.responder, sim.kin.f, sim.kin.d, sim.kin.g, sim.kin.h))),
                                     sim.m0, sim.u0, sim.exc0, sim.unv0, days)
    prob_cov = compute_label_prob(mc_rng, draw_kinetics(mc_rng, sim.cov, mc_replicas), sim.m0, sim.u0, sim.exc0,
                                  sim.unv0, days)
    truth = _truth_base(sim, prior, base, tuple(sorted(sim.partners_given)))
    truth["failed_criteria"] = ";".join(sorted(plan.fails))
    # TTP censoring: the last evaluable (non-NE) assessment before new therapy; none: the first dose
    before_nt = [a for a in hist if (nt_rel is None or a.day < nt_rel) and a.category != "NE"]
    last_assess = before_nt[-1].day if before_nt else 0
    pd_day = full.pd_day if (full.pd_day is not None and (nt_rel is None or full.pd_day < nt_rel)) else None
    ttp_event = pd_day is not None
    ttp_date = fd + (pd_day if ttp_event else last_assess)
    death_rel = (death - fd) if death is not None else None
    mp = {"maint_start_date": "", "mpfs_days": "", "mpfs_event": ""}
    if maint_start is not None and maint_start <= cutoff:
        ms_rel = maint_start - fd
        cands = [x for x in (pd_day, death_rel) if x is not None and x >= ms_rel]
        if cands:
            end, ev = min(cands), 1
        else:
            end, ev = max(last_assess, ms_rel), 0
        mp = {"maint_start_date": iso(maint_start), "mpfs_days": end - ms_rel + 1, "mpfs_event": ev}
    order = [a.category for a in hist]
    dlt = compute_dlt(sim.events, fd, c2_start, cutoff) if esc else None
    is_dlt = bool(dlt and dlt.is_dlt)
    pd_rule = next((a.reason for a in hist if pd_day is not None and a.day == pd_day and a.category == "PD"), "")
    saffl = sim.doses_given > 0
    truth.update(
        saffl=saffl, respevalfl=bool(truth["is_eligible"] and saffl and truth["e6"] == "met"),
        dlt_rules="; ".join(dlt.rules) if dlt else "", label_cutoff_date=iso(fd + end_c4), pd_rule=pd_rule,
        baseline_b2m=round(b2m_base, 4), baseline_albumin=round(alb_base, 3), baseline_iss=_iss(b2m_base, alb_base),
        baseline_serum_m=base.serum, baseline_urine_m=base.urine, ecog_baseline=sim.ecog,
        responder_prob=round(compute_responder_prob(sim.cov), 6),
        true_response_prob=round(prob_cov, 6), true_response_prob_latent=round(prob_latent, 6),
        early_label=int(RANK.get(early.best, -1) >= RANK["PR"]),
        early_label_mr=int(RANK.get(early.best, -1) >= RANK["MR"]),
        early_label_vgpr=int(RANK.get(early.best, -1) >= RANK["VGPR"]),
        true_best_response=full.best, best_unconfirmed_response=full.best_unconfirmed,
        n_assessments=len(hist), assessment_categories=" ".join(order),
        is_dlt=is_dlt, dlt_evaluable=bool(esc and (sim.cycle1_given == len(P.CARFILZOMIB_DAYS) or is_dlt)),
        cycle1_doses_given=sim.cycle1_given,
        cycle1_dlt_event=bool(dlt_event),
        first_dose_date=iso(fd), pd_date=iso(fd + pd_day) if pd_day is not None else "",
        pd_source=full.pd_source,
        death_date=iso(death) if death is not None else "", death_cause=death_cause,
        ttp_days=ttp_date - fd + 1, ttp_event=int(ttp_event),
        entered_maintenance=bool(maint_start is not None and maint_start <= cutoff), **mp,
        stop_reason=stop_reason or "", cycles_started=cycles_done,
        new_therapy_date=iso(new_therapy) if new_therapy is not None else "",
        last_dose_date=iso(last_dose_day) if last_dose_day else "",
    )
    return SubjectResult(sim.records, truth, sim.missing)


NEW_THERAPIES: tuple[tuple[tuple[str, str, str], ...], ...] = (
    (("Pomalidomide", "4", "mg"), ("Dexamethasone", "40", "mg")),
    (("Daratumumab", "16", "mg/kg"), ("Dexamethasone", "20", "mg")),
    (("Pomalyst", "4", "mg"), ("Decadron", "40", "mg")),
    (("Bendamustine", "90", "mg/m2"), ("Prednisone", "60", "mg/m2")),
)
NEW_THERAPY_CMCAT = "SUBSEQUENT MYELOMA THERAPY"


def _new_therapy_records(sim: SubjectSim, start: int, aux: np.random.Generator) -> None:
    """CM rows of a new anti-myeloma regimen started on ``start`` (ongoing: no CMENDTC).

    Steps: pick a salvage regimen (synonyms such as Pomalyst/Decadron included); one CM row
    per drug with CMCAT "SUBSEQUENT MYELOMA THERAPY" and CMGRPID "POST1"; available 7-20 days later.
    """
    drugs = NEW_THERAPIES[int(aux.integers(0, len(NEW_THERAPIES)))]
    avail = min(start + int(aux.integers(7, 21)), sim.cutoff + P.MAX_LAG_DAYS)
    for trt, dose, unit in drugs:
        sim.records.append(Record("cm", avail, [P.STUDYID, "CM", sim.p.usubjid, trt, NEW_THERAPY_CMCAT, "POST1",
                                                dose, unit, iso(start), ""]))


def _ongoing_ae(sim: SubjectSim, fd: int, death: int | None, aux: np.random.Generator) -> None:
    """Scenario ae-ongoing: a grade 1-2 AE with no end date (not resolved at the data cut).

    Steps: take a resolved grade 1-2 non-haematologic AE started after cycle 1, or add a grade 2
    peripheral sensory neuropathy from day 31 (when the subject is alive then); drop its end.
    """
    cands = [e for e in sim.events if fd + 27 < e.start <= sim.cutoff and e.grade <= 2 and e.decod in NONHEME
             and (death is None or e.start < death)]
    if cands:
        cands[int(aux.integers(0, len(cands)))].end = None
        return
    on = fd + 30
    if on <= sim.cutoff and (death is None or on < death):
        bodsys, terms, _w = NONHEME["Peripheral sensory neuropathy"]
        sim.events.append(AdverseEvent("Peripheral sensory neuropathy", terms[0], bodsys, 2, on, None, "POSSIBLE"))


def _dose_cycle(sim: SubjectSim, c: int, cs: int, dose: float, assigned: float, holds: list[AdverseEvent],
                dlt_ev: AdverseEvent | None, non_evaluable: bool, stop_day: int, epoch: str,
                hold_day1: bool = False) -> int | None:
    """EX rows of one cycle: carfilzomib on days 1, 2, 8, 9, 15, 16 and partner drugs.

    ``hold_day1`` (scenario cfz-held-c1d1): carfilzomib held on day 1 (HELD - OTHER) while the
    partner drugs start. Held doses are rows with EXDOSE 0 and EXADJ "HELD - ADVERSE EVENT" (or "HELD - OTHER");
    doses below the assigned level carry EXADJ "REDUCED - ADVERSE EVENT". Doses after
    ``stop_day`` (PD, death, cutoff) are not given and have no row. Returns the last day given.
    """
    rng = sim.rng
    usub = sim.p.usubjid
    last = None
    for dd in P.CARFILZOMIB_DAYS:
        day = cs + dd - 1
        if day > stop_day:
            break
        adj = ""
        given = dose
        if any(e.start <= day < e.start + 7 for e in holds) or (dlt_ev is not None and day >= dlt_ev.start):
            given, adj = 0.0, "HELD - ADVERSE EVENT"
        elif (non_evaluable and dd == 16) or (hold_day1 and dd == 1):
            given, adj = 0.0, "HELD - OTHER"
        elif dose < assigned:
            adj = "REDUCED - ADVERSE EVENT"
        if given > 0:
            last = day
            sim.doses_given += 1
            if c == 1 and epoch == "TREATMENT":
                sim.cycle1_given += 1
        sim.records.append(Record("ex", day + int(rng.integers(1, 8)), [
            P.STUDYID, "EX", usub, "CARFILZOMIB", f"{given:g}", "mg/m2", "ONCE", "INTRAVENOUS", iso(day), iso(day),
            f"C{c}D{dd}", epoch, adj]))
    if epoch != "TREATMENT":
        return last
    for drug in sim.p.partners:
        pdose, unit, route, freq, days, is_range = P.PARTNER_SCHEDULE[drug]
        if is_range:
            a, b = cs + days[0] - 1, min(cs + days[1] - 1, stop_day)
            if a <= b:
                sim.doses_given += 1
                sim.partners_given.add(drug)
                sim.records.append(Record("ex", b + int(rng.integers(1, 8)), [
                    P.STUDYID, "EX", usub, drug, f"{pdose:g}", unit, freq, route, iso(a), iso(b),
                    f"C{c}D{days[0]}", epoch, ""]))
        else:
            for dd in days:
                day = cs + dd - 1
                if day > stop_day:
                    break
                sim.doses_given += 1
                sim.partners_given.add(drug)
                sim.records.append(Record("ex", day + int(rng.integers(1, 8)), [
                    P.STUDYID, "EX", usub, drug, f"{pdose:g}", unit, freq, route, iso(day), iso(day),
                    f"C{c}D{dd}", epoch, ""]))
    return last
