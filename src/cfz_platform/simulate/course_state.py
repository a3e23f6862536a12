"""Where one enrolled subject's course stands while it is simulated (days are ordinals).

``Baseline`` is what the C1D1 (pre-dose) visit sent; ``CourseState`` is carried from the
first combination cycle through the final assessment, maintenance and follow-up, and read by
the truth row; ``Cycle`` holds one combination cycle while its visits, AEs and doses are
simulated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.response import Panel
from cfz_platform.simulate.safety import AdverseEvent
from cfz_platform.simulate.subjects import SubjectPlan


@dataclass
class Baseline:
    """The C1D1 (pre-dose) values as sent: the myeloma panel, beta2-microglobulin, albumin."""

    panel: Panel
    b2m: float
    alb: float


@dataclass
class CourseState:
    """The course so far: dose, cycle, how treatment stopped, death, new therapy."""

    fd: int  # first dose
    cutoff: int  # data cutoff
    dose: float  # carfilzomib dose of the current cycle, mg/m2
    esc: bool  # escalation cohort
    dlt_event: bool  # a cycle-1 DLT event: planned (escalation) or drawn (expansion)
    stop_cycle: int  # consent-withdrawn / new-therapy-on-assessment: their cycle (else 0)
    cs: int  # day 1 of the current cycle
    delay: int = 0  # of the next cycle's day 1, set at the end of each cycle
    reductions: int = 0
    cycles_done: int = 0
    stop_reason: str | None = None  # PD, DEATH, TOX, CUTOFF, WITHDRAWN, NEW THERAPY, COMPLETED
    last_dose_day: int | None = None
    death: int | None = None
    death_cause: str = ""
    c2_start: int | None = None
    c4_start: int | None = None
    maint_start: int | None = None  # day 1 of the first maintenance cycle (planned)
    maint_first_dose: int | None = None  # the first maintenance dose given (domain.md 4)
    new_therapy: int | None = None
    withdrawal_ae_day: int | None = None  # onset of the AE that ended treatment (TOX)
    #: draws the AE that ended treatment when none is recorded (withdrawal.draw_withdrawal_ae):
    #: a generator of its own, so the course's other draws stay as they were
    withdrawal_rng: np.random.Generator | None = None
    #: scenario investigator-flags: "DTHPDFL" (death from PD told by the investigator record)
    #: or "NACTDT" (new therapy told by the investigator record only)
    flag_variant: str = ""


@dataclass
class Cycle:
    """One combination cycle while it is simulated."""

    number: int
    start: int  # day 1
    resp_boost: float  # count and haemoglobin recovery with response (0 for non-responders)
    stop_day: int  # no dose after this day (death, PD, cutoff)
    dlt_kind: str | None = None  # cycle 1 with a DLT event: its kind
    events: list[AdverseEvent] = field(default_factory=list)  # AEs starting in this cycle
    dlt_ev: AdverseEvent | None = None  # the event that makes the DLT
    sent_counts: dict[int, dict] = field(default_factory=dict)  # day -> CBC as sent


def draw_course_state(
    plan: SubjectPlan, cutoff: int, rng: np.random.Generator, aux: np.random.Generator
) -> CourseState:
    """The course at the first dose, before cycle 1.

    Steps: 1. the cycle-1 DLT event: the escalation plan's, else (expansion) drawn with the
    dose level's DLT probability; 2. scenarios consent-withdrawn / new-therapy-on-assessment /
    investigator-flags: the cycle (2-5) whose day-1 visit is not reached / after which new
    therapy starts or death from PD comes (``aux``), and investigator-flags' variant.
    """
    fd = plan.first_dose
    assert fd is not None
    dlt_event = plan.esc_dlt or (
        plan.cohort == "EXPANSION" and rng.random() < P.DLT_PROBS[plan.dose_level_index or 0]
    )
    stop_cycle = (
        int(aux.integers(2, 6))
        if plan.scenario in ("consent-withdrawn", "new-therapy-on-assessment", "investigator-flags")
        else 0
    )
    flag_variant = ""
    if plan.scenario == "investigator-flags":
        flag_variant = "DTHPDFL" if aux.random() < 0.5 else "NACTDT"
    return CourseState(
        fd=fd,
        cutoff=cutoff,
        dose=float(plan.dose),
        esc=plan.cohort == "ESCALATION",
        dlt_event=bool(dlt_event),
        stop_cycle=stop_cycle,
        cs=fd,
        flag_variant=flag_variant,
    )
