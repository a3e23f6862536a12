"""The written rules of domain.md applied to what the simulator sent: eligibility, populations, DLT, 3+3.

This is the simulator's own reading of domain.md (sections 2, 4 "Populations" and 5), kept
independent of the platform's dbt models so the two can be reconciled. Statuses are
``met`` / ``not_met`` / ``not_evaluable``. Days are proleptic ordinals.
"""

from __future__ import annotations

import calendar
import itertools
import math
from dataclasses import dataclass
from datetime import date

from cfz_platform.simulate.prior_therapy import PriorSummary
from cfz_platform.simulate.response import NORMAL_RATIO, Panel, at_least
from cfz_platform.simulate.safety import BLEEDING, GI_TERMS, HEME, AdverseEvent

CRITERIA = ("E1", "E2", "E3", "E4", "E5", "E6", "E7")
ALLOWED_PARTNERS = frozenset(
    {
        "MELPHALAN",
        "CYCLOPHOSPHAMIDE",
        "DOXORUBICIN",
        "PEGYLATED LIPOSOMAL DOXORUBICIN",
        "PREDNISONE",
        "DEXAMETHASONE",
        "METHYLPREDNISOLONE",
        "THALIDOMIDE",
        "LENALIDOMIDE",
    }
)
IMIDS = frozenset({"THALIDOMIDE", "LENALIDOMIDE"})
E2_MIN_DOSE, E2_N_DOSES, E2_MAX_SPAN = 1.0, 4, 27
E2_MAX_SCENARIOS = (
    5000  # combinations of partial dose days tried (dbt var e2_max_partial_scenarios)
)
E3_WINDOW = 84
DLT_WINDOW_DAYS = 28
DLT_RELATED = frozenset({"POSSIBLE", "PROBABLE", "DEFINITE", "RELATED"})
GI_RESOLVED_DAYS = 3
NEUT4_MIN_DAYS = 7  # grade 4 neutropenia lasting MORE than this many days (inclusive count)
C2_DELAY_DAYS = 14


def compute_date_range(text: str) -> tuple[int, int]:
    """ISO date text (YYYY-MM-DD, YYYY-MM or YYYY) -> (first, last) possible ordinal."""
    parts = [int(x) for x in text.split("-")]
    if len(parts) == 3:
        d = date(*parts).toordinal()
        return d, d
    if len(parts) == 2:
        y, m = parts
        return date(y, m, 1).toordinal(), date(y, m, calendar.monthrange(y, m)[1]).toordinal()
    return date(parts[0], 1, 1).toordinal(), date(parts[0], 12, 31).toordinal()


def compute_e2(doses: list[tuple[int, float]]) -> bool:
    """E2: some 4 consecutive qualifying doses (>= 1.0 mg/m2) span at most 27 days (first to fourth)."""
    q = sorted(d for d, lv in doses if lv >= E2_MIN_DOSE)
    return any(q[i + E2_N_DOSES - 1] - q[i] <= E2_MAX_SPAN for i in range(len(q) - E2_N_DOSES + 1))


def compute_e2_status(doses: list[tuple[int, float]], texts: list[str] | None = None) -> str:
    """E2 with partial dose dates (domain.md 2): judged on every possible day.

    Steps:
    1. each qualifying dose (>= 1.0 mg/m2) is the range of days its CMSTDTC text allows
       (``texts``, one per dose; none: the days as given);
    2. every combination of the partial doses' possible days is tried with ``compute_e2``:
       all met -> met, none -> not_met, some -> not_evaluable;
    3. more than E2_MAX_SCENARIOS combinations: met when the full-dated doses alone qualify
       (more doses never undo a qualifying cycle), else not_evaluable.
    """
    texts = texts or [None] * len(doses)
    ranges = [
        compute_date_range(t) if t else (d, d)
        for (d, lv), t in zip(doses, texts, strict=True)
        if lv >= E2_MIN_DOSE
    ]
    full = [(lo, E2_MIN_DOSE) for lo, hi in ranges if lo == hi]
    partial = [(lo, hi) for lo, hi in ranges if lo < hi]
    if math.prod(hi - lo + 1 for lo, hi in partial) > E2_MAX_SCENARIOS:
        return "met" if compute_e2(full) else "not_evaluable"
    outcomes = {
        compute_e2(full + [(d, E2_MIN_DOSE) for d in days])
        for days in itertools.product(*(range(lo, hi + 1) for lo, hi in partial))
    }
    if outcomes == {True}:
        return "met"
    return "not_met" if outcomes == {False} else "not_evaluable"


def compute_e3(pd_text: str, first_btz: int, last_btz: int) -> str:
    """E3: the index PD on or after the first bortezomib dose and <= last dose + 84 days.

    A partial PD date is judged on every day it may be: all inside -> met, none -> not_met,
    some -> not_evaluable (the outcome depends on the missing part).
    """
    lo, hi = compute_date_range(pd_text)
    ok = [first_btz <= d <= last_btz + E3_WINDOW for d in (lo, hi)]
    # the window is an interval, so checking both ends plus containment is enough
    if all(ok):
        return "met"
    if hi < first_btz or lo > last_btz + E3_WINDOW:
        return "not_met"
    return "not_evaluable"


def compute_measurable(p: Panel) -> bool:
    """E6 / IMWG measurable disease: serum M >= 1.0 g/dL, urine M >= 200 mg/24h, or involved FLC
    >= 10 mg/dL with an abnormal kappa/lambda ratio (involved = the larger chain)."""
    if p.serum is not None and at_least(p.serum, 1.0):
        return True
    if p.urine is not None and at_least(p.urine, 200.0):
        return True
    if p.kappa is None or p.lam is None or p.lam <= 0:
        return False
    ratio = p.kappa / p.lam
    return at_least(max(p.kappa, p.lam), 10.0) and not (NORMAL_RATIO[0] <= ratio <= NORMAL_RATIO[1])


def compute_eligibility(
    prior: PriorSummary, baseline: Panel, on_study_partners: tuple[str, ...] | None
) -> dict:
    """Status of E1-E7 (domain.md 2) from the prior therapy, the baseline panel and EX.

    Steps: E1 a non-bortezomib drug in the index regimen; E2 ``compute_e2_status`` on its
    doses as sent (partial dates judged on every possible day); E3
    ``compute_e3``; E4 every partner allowed (none: met vacuously); E5 an IMiD index regimen is
    the most recent one (a non-IMiD one always qualifies); E6 ``compute_measurable`` on the
    baseline (last value on or before the first dose; screening for a screen failure); E7 the
    on-study partner drugs equal the index partners (not evaluable without EX).
    """
    partners = set(prior.index_partners)
    days = [d for d, _ in prior.bortezomib_doses]
    out = {
        "E1": "met" if partners else "not_met",
        "E2": compute_e2_status(prior.bortezomib_doses, prior.bortezomib_dose_texts),
        "E3": compute_e3(prior.index_pd_text, min(days), max(days)),
        "E4": "met" if partners <= ALLOWED_PARTNERS else "not_met",
        "E5": "not_met" if (partners & IMIDS and prior.later_regimen) else "met",
        "E6": "met" if compute_measurable(baseline) else "not_met",
        "E7": "not_evaluable"
        if on_study_partners is None
        else ("met" if set(on_study_partners) == partners else "not_met"),
    }
    return out


# --------------------------------------------------------------------------- DLT


@dataclass
class DltResult:
    is_dlt: bool
    rules: list[str]


def _ongoing_end(e: AdverseEvent, cutoff: int) -> int | None:
    """The AE end as sent: None when missing (ongoing at the data cut)."""
    return e.end if (e.end is not None and e.end <= cutoff) else None


def compute_dlt(
    events: list[AdverseEvent], first_dose: int, c2_start: int | None, cutoff: int
) -> DltResult:
    """DLT of one escalation subject by domain.md 5 (a cycle-1 event at least possibly related).

    Steps:
    1. window: onset from the first study dose to first dose + 27 (days 1-28); relatedness
       POSSIBLE/PROBABLE/DEFINITE/RELATED;
    2. non-haematologic grade >= 3, except grade 3 nausea/vomiting/diarrhoea with an end date
       and AEENDTC - AESTDTC <= 3 (no end date: not resolved, a DLT);
    3. grade 4 neutropenia lasting more than 7 days, counted inclusive (end - start + 1);
       no end date: lasting (a DLT);
    4. febrile neutropenia (any grade);
    5. grade 4 thrombocytopenia; grade 3 thrombocytopenia with a bleeding AE whose onset lies
       within the thrombocytopenia (start to end, or to the cut when ongoing);
    6. cycle 2 day 1 more than 14 days after first dose + 28, with a related AE in the window.
    """
    win = [
        e
        for e in events
        if first_dose <= e.start <= first_dose + DLT_WINDOW_DAYS - 1 and e.start <= cutoff
    ]
    rel = [e for e in win if e.rel in DLT_RELATED]
    rules: list[str] = []
    for e in rel:
        end = _ongoing_end(e, cutoff)
        if e.decod not in HEME and e.grade >= 3:
            if (
                e.decod in GI_TERMS
                and e.grade == 3
                and end is not None
                and end - e.start <= GI_RESOLVED_DAYS
            ):
                continue
            rules.append(f"non-haematologic grade {e.grade} {e.decod}")
        elif e.decod == "Neutropenia" and e.grade >= 4:
            if end is None or end - e.start + 1 > NEUT4_MIN_DAYS:
                rules.append("grade 4 neutropenia > 7 days")
        elif e.decod == "Febrile neutropenia":
            rules.append("febrile neutropenia")
        elif e.decod == "Thrombocytopenia" and e.grade >= 4:
            rules.append("grade 4 thrombocytopenia")
        elif e.decod == "Thrombocytopenia" and e.grade == 3:
            stop = end if end is not None else cutoff
            if any(b.decod in BLEEDING and e.start <= b.start <= stop for b in events):
                rules.append("grade 3 thrombocytopenia with bleeding")
    if c2_start is not None and c2_start - (first_dose + 28) > C2_DELAY_DAYS and rel:
        rules.append("cycle 2 delayed > 14 days")
    return DltResult(bool(rules), rules)


# --------------------------------------------------------------------------- 3+3


def compute_level_decision(n_evaluable: int, n_dlt: int) -> str:
    """3+3 decision at one level from its counts (domain.md 5).

    >= 2 DLTs: above_mtd (at once); < 3 evaluable: enrolling; 0 DLT: escalate; 1 DLT with < 6
    evaluable: expand_to_6; 1 DLT among >= 6: escalate.
    """
    if n_dlt >= 2:
        return "above_mtd"
    if n_evaluable < 3:
        return "enrolling"
    if n_dlt == 0:
        return "escalate"
    return "expand_to_6" if n_evaluable < 6 else "escalate"


def compute_escalation(subjects: list[dict]) -> tuple[list[dict], float | None]:
    """Per dose level of the escalation cohort: treated, DLT-evaluable, DLTs, decision; and the MTD.

    The MTD is the highest level with <= 1 DLT among >= 6 evaluable whose next level up is
    above the MTD; None (not established) otherwise. ``subjects`` are truth rows.
    """
    esc = [s for s in subjects if s["cohort"] == "ESCALATION" and not s["is_screen_failure"]]
    levels = sorted({float(s["doselvl"]) for s in esc})
    rows = []
    for lv in levels:
        at = [s for s in esc if float(s["doselvl"]) == lv]
        ev = sum(bool(s["dlt_evaluable"]) for s in at)
        dl = sum(bool(s["is_dlt"]) for s in at)
        rows.append(
            {
                "level": lv,
                "treated": len(at),
                "dlt_evaluable": ev,
                "dlts": dl,
                "decision_rule": compute_level_decision(ev, dl),
            }
        )
    mtd = None
    for i, r in enumerate(rows[:-1]):
        if (
            r["dlt_evaluable"] >= 6
            and r["dlts"] <= 1
            and rows[i + 1]["decision_rule"] == "above_mtd"
        ):
            mtd = r["level"]
    return rows, mtd
