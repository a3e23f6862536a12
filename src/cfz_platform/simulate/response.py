"""The simulator's own IMWG response assessment (domain.md section 4), used for the truth.

This is an independent implementation the platform's dbt models can be reconciled with.
Operational choices (where domain.md leaves room), all applied to standard units:

* baseline = the C1D1 (pre-dose) sample, i.e. the last one on or before the first dose;
* measurable: serum M >= 1.0 g/dL; urine M >= 200 mg/24h; involved FLC >= 10 mg/dL with an
  abnormal kappa/lambda ratio; driver = serum/urine when either is measurable, else FLC,
  else BMPC (when baseline BMPC >= 30%);
* an assessment = every post-baseline date with a myeloma panel (C1D8, C1D15, CnD1 n>=2,
  EOT, maintenance CnD1 n>=2); a skeletal survey with PROGRESSION on that date is PD;
* PD: >= 25% and the absolute rise over the nadir (lowest value so far, baseline included)
  in a measurable driver; serum rise >= 0.5 g/dL; urine >= 200; dFLC > 10 mg/dL (FLC
  driver only); and, with a serum nadir >= 5 g/dL, a serum rise >= 1.0 g/dL even below 25%
  (Rajkumar 2011; domain.md 4);
* CR: serum and urine immunofixation negative and a post-baseline marrow dated on or before
  the assessment with BMPC < 5%; sCR: CR with a kappa/lambda ratio in [0.26, 1.65]; both
  IFE negative but no such marrow: VGPR ("no post-baseline marrow");
* VGPR (serum/urine driver): electrophoresis 0 on every measurable parameter while IFE is
  positive; or serum M down >= 90% (serum measurable) and urine M < 100 mg/24h (whenever
  urine is reported);
* PR: serum M down >= 50% (serum measurable) and urine M down >= 90% or < 200 mg/24h
  (whenever urine is reported); FLC driver: dFLC down >= 50%; BMPC driver: BMPC down >= 50%;
* MR: serum M down >= 25% (serum measurable) and urine M down >= 50% (urine measurable);
  no MR or VGPR for FLC/BMPC drivers (except the IFE-negative VGPR above);
* NE: a measurable driver's value is missing;
* new anti-myeloma therapy: an assessment dated on or after its start is ignored everywhere
  (confirmation of a response or of PD, best response, TTP);
* confirmation: two consecutive non-NE assessments confirm the lower of their two
  categories when it is >= MR; PD by M-protein needs two consecutive PD assessments (date
  = the first), PD by imaging needs none; assessments after confirmed PD are ignored;
* best overall response: best confirmed category; else SD when any assessment before PD
  was SD or better (an unconfirmed response counts as SD); else PD when confirmed; else NE.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RANK = {"PD": 0, "SD": 1, "MR": 2, "PR": 3, "VGPR": 4, "CR": 5, "sCR": 6}
CATEGORIES = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")
NORMAL_RATIO = (0.26, 1.65)


@dataclass
class Panel:
    """One day's response-relevant values in standard units (None = not reported)."""

    serum: float | None = None
    urine: float | None = None
    ife_serum: bool | None = None  # True = positive
    ife_urine: bool | None = None
    kappa: float | None = None
    lam: float | None = None
    bmpc: float | None = None  # marrow on this date


#: Values are compared as the decimals that were sent: 0.82 - 0.32 is 0.49999999999999994 in
#: binary floating point but a rise of exactly 0.50 g/dL on the report, which the rule counts.
_EPS = 1e-9


def at_least(a: float, b: float) -> bool:
    return a >= b - _EPS


def at_most(a: float, b: float) -> bool:
    return a <= b + _EPS


def above(a: float, b: float) -> bool:
    return a > b + _EPS


@dataclass
class Assessment:
    """One assessed timepoint."""

    day: int
    category: str
    pd_source: str = ""  # "mprotein" or "imaging"
    reason: str = ""


@dataclass
class ImwgAssessor:
    """Stateful per-subject assessor: feed it post-baseline panels in date order."""

    baseline: Panel
    bmpc_baseline: float | None = None
    nadir: dict = field(default_factory=dict)
    last_marrow: float | None = None
    history: list[Assessment] = field(default_factory=list)

    def __post_init__(self) -> None:
        b = self.baseline
        self.serum_meas = b.serum is not None and at_least(b.serum, 1.0)
        self.urine_meas = b.urine is not None and at_least(b.urine, 200.0)
        self.involved = None
        self.flc_meas = False
        if b.kappa is not None and b.lam is not None and b.lam > 0:
            self.involved = "K" if b.kappa >= b.lam else "L"
            ratio = b.kappa / b.lam
            inv = max(b.kappa, b.lam)
            self.flc_meas = at_least(inv, 10.0) and not (
                NORMAL_RATIO[0] <= ratio <= NORMAL_RATIO[1]
            )
        if self.serum_meas or self.urine_meas:
            self.driver = "SU"
        elif self.flc_meas:
            self.driver = "FLC"
        elif self.bmpc_baseline is not None and self.bmpc_baseline >= 30.0:
            self.driver = "BMPC"
        else:
            self.driver = "NONE"
        self.nadir = {"serum": b.serum, "urine": b.urine, "dflc": self._dflc(b)}

    def _dflc(self, p: Panel) -> float | None:
        if p.kappa is None or p.lam is None or self.involved is None:
            return None
        return (p.kappa - p.lam) if self.involved == "K" else (p.lam - p.kappa)

    def assess(self, day: int, p: Panel, skeletal_progression: bool = False) -> Assessment:
        """Assess one timepoint (steps: imaging PD, M-protein PD vs nadir, NE, CR/sCR, VGPR,
        PR, MR, SD), then update the nadirs."""
        if p.bmpc is not None:
            self.last_marrow = p.bmpc
        a = self._categorise(day, p, skeletal_progression)
        for key, val in (("serum", p.serum), ("urine", p.urine), ("dflc", self._dflc(p))):
            if val is not None and (self.nadir.get(key) is None or val < self.nadir[key]):
                self.nadir[key] = val
        self.history.append(a)
        return a

    def _categorise(self, day: int, p: Panel, skel: bool) -> Assessment:
        b = self.baseline
        if skel:
            return Assessment(day, "PD", "imaging", "skeletal survey progression")
        ns, nu, nd = self.nadir.get("serum"), self.nadir.get("urine"), self.nadir.get("dflc")
        dflc = self._dflc(p)
        if self.driver == "SU":
            if self.serum_meas and p.serum is not None and ns is not None:
                if at_least(ns, 5.0) and at_least(p.serum - ns, 1.0):
                    reason = "serum M rise >= 1.0 g/dL from a nadir >= 5 g/dL"
                    if not at_least(p.serum, 1.25 * ns):
                        reason += " (below 25%)"
                    return Assessment(day, "PD", "mprotein", reason)
                if at_least(p.serum, 1.25 * ns) and at_least(p.serum - ns, 0.5):
                    return Assessment(day, "PD", "mprotein", "serum M rise from nadir")
            if (
                self.urine_meas
                and p.urine is not None
                and nu is not None
                and at_least(p.urine, 1.25 * nu)
                and at_least(p.urine - nu, 200.0)
            ):
                return Assessment(day, "PD", "mprotein", "urine M rise from nadir")
            if (self.serum_meas and p.serum is None) or (self.urine_meas and p.urine is None):
                return Assessment(day, "NE", reason="measurable driver missing")
        elif self.driver == "FLC":
            if dflc is None:
                return Assessment(day, "NE", reason="FLC missing")
            if nd is not None and at_least(dflc, 1.25 * nd) and above(dflc - nd, 10.0):
                return Assessment(day, "PD", "mprotein", "dFLC rise from nadir")
        elif self.driver == "BMPC":
            if p.bmpc is None:
                return Assessment(day, "NE", reason="no marrow")
            if self.bmpc_baseline is not None and at_least(
                p.bmpc - min(self.bmpc_baseline, p.bmpc), 10
            ):
                return Assessment(day, "PD", "mprotein", "BMPC rise")
        else:
            return Assessment(day, "NE", reason="no measurable disease")
        # complete response family
        if p.ife_serum is False and p.ife_urine is False:
            if self.last_marrow is not None and self.last_marrow < 5.0:
                ratio = (p.kappa / p.lam) if (p.kappa is not None and p.lam) else None
                if ratio is not None and NORMAL_RATIO[0] <= ratio <= NORMAL_RATIO[1]:
                    return Assessment(day, "sCR")
                return Assessment(day, "CR")
            if self.last_marrow is None:
                return Assessment(day, "VGPR", reason="CR not given: no post-baseline marrow")
        if self.driver == "SU":
            bs, bu = b.serum or 0.0, b.urine or 0.0
            ife_pos = bool(p.ife_serum) or bool(p.ife_urine)
            zero_ep = (not self.serum_meas or p.serum == 0.0) and (
                not self.urine_meas or p.urine == 0.0
            )
            if zero_ep and ife_pos:
                return Assessment(day, "VGPR")
            urine_ok_vgpr = p.urine is None or p.urine < 100.0
            if self.serum_meas and at_most(p.serum, 0.1 * bs) and urine_ok_vgpr:
                return Assessment(day, "VGPR")
            if not self.serum_meas and self.urine_meas and p.urine < 100.0:
                return Assessment(day, "VGPR")
            s_pr = (not self.serum_meas) or at_most(p.serum, 0.5 * bs)
            u_pr = p.urine is None or at_most(p.urine, 0.1 * bu) or p.urine < 200.0
            if s_pr and u_pr:
                return Assessment(day, "PR")
            s_mr = (not self.serum_meas) or at_most(p.serum, 0.75 * bs)
            u_mr = (not self.urine_meas) or at_most(p.urine, 0.5 * bu)
            if s_mr and u_mr:
                return Assessment(day, "MR")
            return Assessment(day, "SD")
        if self.driver == "FLC":
            d0 = self._dflc(b)
            if d0 is not None and at_most(dflc, 0.5 * d0):
                return Assessment(day, "PR")
            return Assessment(day, "SD")
        if self.bmpc_baseline and at_most(p.bmpc, 0.5 * self.bmpc_baseline):
            return Assessment(day, "PR")
        return Assessment(day, "SD")


@dataclass
class BestResponse:
    """Confirmed best response and progression of one subject."""

    best: str
    pd_day: int | None
    pd_confirm_day: int | None
    pd_source: str
    best_unconfirmed: str
    confirmed_days: list[int]


def compute_best_response(
    history: list[Assessment], until_day: int | None = None, new_therapy_day: int | None = None
) -> BestResponse:
    """Best confirmed response from assessments in date order.

    Steps:
    1. keep non-NE assessments dated before ``new_therapy_day`` (when given; an assessment
       on or after the start of new anti-myeloma therapy is ignored) and <= until_day;
    2. find confirmed PD: imaging PD at once, M-protein PD when the next one is PD too
       (date = the first); drop assessments after the confirming one;
    3. for each consecutive pair before PD, the lower category is confirmed when >= MR and
       both are before the new therapy (step 1);
    4. best = best confirmed; else SD if any SD-or-better; else PD if confirmed; else NE.
    """
    seq = [
        a
        for a in history
        if a.category != "NE"
        and (until_day is None or a.day <= until_day)
        and (new_therapy_day is None or a.day < new_therapy_day)
    ]
    pd_idx = None
    pd_confirm = None
    pd_source = ""
    for i, a in enumerate(seq):
        if a.category != "PD":
            continue
        if a.pd_source == "imaging":
            pd_idx, pd_confirm, pd_source = i, i, "imaging"
            break
        if i + 1 < len(seq) and seq[i + 1].category == "PD":
            pd_idx, pd_confirm, pd_source = i, i + 1, "mprotein"
            break
    pre = seq if pd_idx is None else seq[:pd_idx]
    best_rank = -1
    confirmed_days = []
    for a, b in zip(pre, pre[1:], strict=False):
        r = min(RANK[a.category], RANK[b.category])
        if r >= RANK["MR"]:
            confirmed_days.append(a.day)
            best_rank = max(best_rank, r)
    inv = {v: k for k, v in RANK.items()}
    unconf = max((RANK[a.category] for a in pre), default=-1)
    best_unconfirmed = inv[unconf] if unconf >= 0 else ("PD" if pd_idx is not None else "NE")
    if best_rank >= 0:
        best = inv[best_rank]
    elif any(RANK[a.category] >= RANK["SD"] for a in pre):
        best = "SD"
    elif pd_idx is not None:
        best = "PD"
    else:
        best = "NE"
    return BestResponse(
        best,
        seq[pd_idx].day if pd_idx is not None else None,
        seq[pd_confirm].day if pd_confirm is not None else None,
        pd_source,
        best_unconfirmed,
        confirmed_days,
    )
