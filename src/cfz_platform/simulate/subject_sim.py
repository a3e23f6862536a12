"""One subject's state while their course is simulated, and the emitters of its feed rows.

``SubjectSim`` holds the baseline traits and latent kinetics (domain.md 8), the records so far
and the AEs; its emitters write the myeloma panel, CBC, chemistry, immunoglobulins, RS, VS,
the screening visit, a full visit (C1D1, EOT) and DM. ``course.simulate_subject`` drives it
through the phases.
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
    draw_kinetics,
)
from cfz_platform.simulate.labs import CHEM, LabEmitter
from cfz_platform.simulate.records import TAG_DM_FIRST, Record, iso
from cfz_platform.simulate.response import Panel
from cfz_platform.simulate.safety import AdverseEvent
from cfz_platform.simulate.subjects import SubjectPlan

NORMAL_FLC = {"K": 1.3, "L": 1.6}  # normal free kappa / lambda, mg/dL


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


def noise(rng: np.random.Generator) -> float:
    return float(np.exp(rng.normal(0.0, P.ASSAY_CV)))


def grade_plat(v: float) -> int:
    return 4 if v < 25 else 3 if v < 50 else 2 if v < 75 else 1 if v < 150 else 0


def grade_neut(v: float) -> int:
    return 4 if v < 0.5 else 3 if v < 1.0 else 2 if v < 1.5 else 1 if v < 2.0 else 0


def grade_hgb(v: float) -> int:
    return 3 if v < 8.0 else 2 if v < 10.0 else 1 if v < 12.0 else 0


class SubjectSim:
    """State of one subject while their course is generated."""

    def __init__(
        self,
        plan: SubjectPlan,
        cutoff: int,
        rng: np.random.Generator,
        mess_rng: np.random.Generator,
        miss_rate: float,
    ):
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
            self.u0 = (
                0.0
                if u < 0.3
                else float(np.clip(r.lognormal(np.log(600), 0.6), 260, 5000))
                if u < 0.55
                else float(r.uniform(25, 170))
            )
            self.exc0 = float(np.clip(r.lognormal(np.log(6.0), 0.9), 0.5, 200))
        else:
            self.m0 = 0.0
            self.u0 = (
                float(np.clip(r.lognormal(np.log(800), 0.6), 260, 8000))
                if r.random() < 0.65
                else float(r.uniform(25, 150))
            )
            self.exc0 = float(np.clip(r.lognormal(np.log(60), 0.6), 15, 800))
        if sf_e6:
            self.m0, self.u0, self.exc0 = (
                float(r.uniform(0.3, 0.85)),
                float(r.uniform(0, 150)),
                float(r.uniform(0.5, 4)),
            )
        other = "L" if self.chain == "K" else "K"
        self.inorm, self.unorm = NORMAL_FLC[self.chain], NORMAL_FLC[other]
        self.unv0 = self.unorm * float(r.uniform(0.3, 0.8))  # suppressed uninvolved chain
        # persistent (oligoclonal) involved FLC in some: keeps the ratio abnormal in CR (CR, not sCR)
        self.flc_floor = (
            0.0
            if r.random() < 0.55
            else (float(r.uniform(0.9, 3.0)) if self.chain == "K" else float(r.uniform(3.8, 7.0)))
        )
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
        self.chem0 = {
            "CREAT": float(np.clip(r.normal(1.0, 0.25), 0.5, 2.4)),
            "BILI": float(np.clip(r.normal(0.6, 0.2), 0.2, 1.4)),
            "CA": float(r.normal(9.5, 0.5)),
            "ALT": float(np.clip(r.normal(24, 8), 8, 80)),
            "AST": float(np.clip(r.normal(26, 8), 8, 80)),
            "LDH": float(np.clip(r.normal(190, 40), 100, 400)),
            "K": float(r.normal(4.2, 0.35)),
            "SODIUM": float(r.normal(139, 2.5)),
        }
        self.cov = Covariates(dose, self.b2m, self.p.imid, self.ecog, self.dtype == "LIGHT_CHAIN")
        kin = draw_kinetics(r, self.cov, 1)
        self.kin = kin
        self.responder = bool(kin.responder[0])
        self.f, self.d, self.g, self.h = (
            float(kin.f[0]),
            float(kin.d[0]),
            float(kin.g[0]),
            float(kin.h[0]),
        )
        self.t_bone = float(r.exponential(1100.0 if self.responder else 450.0))

    def _high_nadir_traits(self) -> None:
        """Scenario nadir-above-5: IgG disease with serum M ~7-8.5 g/dL, a small sensitive fraction
        and slow regrowth, no urine or bone driver: the nadir stays above 5 g/dL and a later
        rise of >= 1 g/dL comes before the rise reaches 25%."""
        r = self.rng
        self.dtype = "IGG"
        self.m0, self.u0 = float(r.uniform(7.0, 8.5)), 0.0
        self.f, self.d, self.g = (
            float(r.uniform(0.18, 0.28)),
            0.05,
            float(r.uniform(0.0018, 0.0028)),
        )
        self.responder = False
        self.t_bone = 1e9
        self.kin = Kinetics(
            np.array([False]),
            np.array([self.f]),
            np.array([self.d]),
            np.array([self.g]),
            np.array([self.h]),
        )

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
        s = s_true * noise(r)
        s = 0.0 if s < P.SPEP_DETECTION else s
        u = u_true * noise(r)
        u = 0.0 if u < P.UPEP_DETECTION else u
        s_sent = lab.num("MPROTEIN/SERUM", s, day, visit, lag)
        u_sent = lab.num("MPROTEIN/URINE", u, day, visit, lag)
        exc_total = exc + (self.flc_floor if t > 0 else 0.0)
        ife_s = s_true >= P.SERUM_IFE_DETECTION or (
            self.dtype == "LIGHT_CHAIN" and exc_total >= 0.5
        )
        ife_u = u_true >= P.URINE_IFE_DETECTION
        lab.text("IMFIX/SERUM", "POSITIVE" if ife_s else "NEGATIVE", day, visit, lag)
        lab.text("IMFIX/URINE", "POSITIVE" if ife_u else "NEGATIVE", day, visit, lag)
        inv = (self.inorm + exc_total) * noise(r)
        unv = (self.unorm - (self.unorm - self.unv0) * min(1.0, k)) * noise(r)
        kap, lam = (inv, unv) if self.chain == "K" else (unv, inv)
        k_sent = lab.num("KLCFR", kap, day, visit, lag)
        l_sent = lab.num("LLCFR", lam, day, visit, lag)
        lab.num("KLCLLCFR", k_sent / l_sent, day, visit, lag)
        return Panel(s_sent, u_sent, ife_s, ife_u, k_sent, l_sent)

    def cbc(
        self, day: int, visit: str, lag: int, plat: float, neut: float, hgb: float, lym: float
    ) -> dict:
        lab = self.lab
        out = {
            "PLAT": lab.num("PLAT", plat, day, visit, lag),
            "NEUT": lab.num("NEUT", neut, day, visit, lag),
            "HGB": lab.num("HGB", hgb, day, visit, lag),
        }
        lab.num("LYM", lym, day, visit, lag)
        lab.num("WBC", neut + lym + 0.5 * noise(self.rng), day, visit, lag)
        return out

    def chem(self, day: int, visit: str, lag: int, t: float) -> None:
        r = self.rng
        self.lab.num(
            "ALB",
            (self.alb + (0.15 if self.responder and t > 60 else 0.0)) * noise(r),
            day,
            visit,
            lag,
        )
        for key in CHEM[1:]:
            cv = 0.03 if key in ("SODIUM", "CA", "K") else 0.1
            self.lab.num(key, self.chem0[key] * float(np.exp(r.normal(0, cv))), day, visit, lag)

    def igs(self, day: int, visit: str, lag: int, t: float) -> float:
        r = self.rng
        k = float(compute_factor(self.f, self.d, self.g, t)) if t > 0 else 1.0
        mono = self.m0 * k * 1000 * 0.9
        igg = (mono if self.dtype == "IGG" else 0) + 450 * noise(r)
        iga = (mono if self.dtype == "IGA" else 0) + 60 * noise(r)
        self.lab.num("IGG", igg, day, visit, lag)
        self.lab.num("IGA", iga, day, visit, lag)
        self.lab.num("IGM", 35 * noise(r), day, visit, lag)
        return self.lab.num(
            "B2MICG", self.b2m * (1 - 0.3 * (1 - min(1.0, k))) * noise(r), day, visit, lag
        )

    def rs(self, testcd: str, value: str, day: int, visit: str, epoch: str, lag: int) -> None:
        test, cat = {
            "OVRLRESP": ("Overall Response", "IMWG"),
            "ECOG": ("ECOG Performance Status", "ECOG"),
            "SKELSURV": ("Skeletal Survey", "IMAGING"),
        }[testcd]
        self.records.append(
            Record(
                "rs",
                day + lag,
                [
                    P.STUDYID,
                    "RS",
                    self.p.usubjid,
                    testcd,
                    test,
                    cat,
                    value,
                    value,
                    "INVESTIGATOR",
                    epoch,
                    visit,
                    visit,
                    iso(day),
                    "",
                    "",
                ],
            )
        )

    def vs(self, day: int, visit: str, lag: int, screening: bool = False) -> None:
        r = self.rng
        vals = [
            ("SYSBP", "Systolic Blood Pressure", f"{r.normal(132, 14):.0f}", "mmHg"),
            ("DIABP", "Diastolic Blood Pressure", f"{r.normal(78, 9):.0f}", "mmHg"),
            ("PULSE", "Pulse Rate", f"{r.normal(76, 10):.0f}", "beats/min"),
            ("TEMP", "Temperature", f"{r.normal(36.7, 0.3):.1f}", "C"),
            ("WEIGHT", "Weight", f"{self.weight * float(np.exp(r.normal(0, 0.01))):.1f}", "kg"),
        ]
        if screening:
            vals.append(("HEIGHT", "Height", f"{self.height:.0f}", "cm"))
        for cd, name, v, u in vals:
            self.records.append(
                Record(
                    "vs",
                    day + lag,
                    [P.STUDYID, "VS", self.p.usubjid, cd, name, v, u, visit, iso(day)],
                )
            )

    def full_visit(self, day: int, visit: str, t: float) -> tuple[Panel, float, int]:
        """Emit a visit's full labs and vitals; return (panel as sent, beta2M as sent, lag).

        Steps: one lab lag; myeloma panel; CBC at the subject's baseline counts; chemistry;
        immunoglobulins with beta2M; vitals (their own lag). ``t``: days after the first dose.
        """
        r = self.rng
        lag = self._lag()
        panel = self.resp_panel(day, t, visit, lag)
        self.cbc(
            day,
            visit,
            lag,
            self.plat0 * noise(r),
            self.neut0 * noise(r),
            self.hgb0 * noise(r),
            self.lym0 * noise(r),
        )
        self.chem(day, visit, lag, t)
        b2m = self.igs(day, visit, lag, t)
        self.vs(day, visit, self._lag(1, 8))
        return panel, b2m, lag

    # ------------------------------------------------------------------ screening
    def screening(self, scr: int) -> None:
        r = self.rng
        self.weight = float(np.clip(r.normal(76 if self.p.sex == "M" else 64, 12), 40, 140))
        self.height = float(np.clip(r.normal(175 if self.p.sex == "M" else 162, 7), 145, 200))
        lag = self._lag()
        self.scr_panel = self.resp_panel(scr, -1.0, "SCREENING", lag)
        self.cbc(
            scr,
            "SCREENING",
            lag,
            self.plat0 * noise(r),
            self.neut0 * noise(r),
            self.hgb0 * noise(r),
            self.lym0 * noise(r),
        )
        self.chem(scr, "SCREENING", lag, -1.0)
        self.igs(scr, "SCREENING", lag, -1.0)
        self.bmpc_base = self.lab.num(
            "PLSCECE", self.bmpc0 * noise(r), scr, "SCREENING", self._lag(5, 11)
        )
        self.vs(scr, "SCREENING", self._lag(1, 8), screening=True)
        lag = self._lag(3, 11)
        self.rs("ECOG", str(self.ecog), scr, "SCREENING", "SCREENING", lag)
        self.rs("SKELSURV", "NO NEW LESIONS", scr, "SCREENING", "SCREENING", lag)

    def dm(self, avail: int, death: int | None) -> None:
        p = self.p
        byear = date.fromordinal(p.consent).year - p.age
        row = [
            P.STUDYID,
            "DM",
            p.usubjid,
            p.subjid,
            p.site,
            iso(p.consent),
            iso(p.first_dose) if p.first_dose else "",
            p.armcd,
            P.ARM_TEXT[p.armcd],
            str(p.age),
            "YEARS",
            p.sex,
            p.race,
            str(byear),
            "",
            "",
            f"{p.dose:g}" if p.dose else "",
            p.cohort,
        ]
        self.records.append(Record("dm", avail, row, TAG_DM_FIRST))
        if death is not None:
            row2 = list(row)
            row2[14], row2[15] = iso(death), "Y"
            self.records.append(
                Record("dm", min(death + self._lag(3, 11), self.cutoff + P.MAX_LAG_DAYS), row2)
            )
