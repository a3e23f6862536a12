"""Phase I dose escalation played out by the 3+3 rules (domain.md section 5).

The MTD is a consequence of the simulated DLTs, not a constant. Each escalation subject's
cycle-1 outcome comes from a callback (``Outcome``): the trial planner simulates the subject's
actual cycle 1, so that a subject is DLT-evaluable exactly when domain.md says so (all six
cycle-1 doses received, or a DLT). Non-evaluable subjects are replaced, as in a real 3+3.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class EscalationSlot:
    """One escalation subject: the dose level index, the actual cycle-1 outcome, the cohort."""

    level: int
    evaluable: bool
    dlt: bool
    cohort_no: int
    slot_no: int = 0


#: (level index, slot number, cohort number) -> (DLT-evaluable, had a DLT)
Outcome = Callable[[int, int, int], tuple[bool, bool]]


@dataclass
class EscalationResult:
    """The escalation path, its per-level summary and the MTD level index (or None)."""

    slots: list[EscalationSlot]
    per_level: list[dict] = field(default_factory=list)
    mtd_level: int | None = None
    expansion_level: int = 0


def _treat(
    outcome: Outcome,
    level: int,
    n_evaluable: int,
    cohort_no: int,
    budget: int,
    slots: list[EscalationSlot],
    prior_dlts: int = 0,
) -> tuple[int, int]:
    """Treat subjects at ``level`` until ``n_evaluable`` are evaluable; return (evaluable, dlts).

    Steps: enrol one subject at a time (within the budget); ask ``outcome`` for their actual
    cycle-1 result; a non-evaluable subject does not count and is replaced by the next one;
    stop as soon as the level holds two DLTs (with ``prior_dlts`` from earlier cohorts): it is
    above the MTD at once, however few are evaluable (domain.md 5).
    """
    got = dlts = 0
    while got < n_evaluable and len(slots) < budget and prior_dlts + dlts < 2:
        evaluable, dlt = outcome(level, len(slots), cohort_no)
        evaluable = evaluable or dlt
        slots.append(EscalationSlot(level, evaluable, dlt, cohort_no, len(slots)))
        if evaluable:
            got += 1
            dlts += int(dlt)
    return got, dlts


def play_3plus3(outcome: Outcome, n_levels: int, budget: int) -> EscalationResult:
    """Play 3+3 with each subject's cycle-1 outcome given by ``outcome``.

    Steps:
    1. start at the lowest level; treat 3 evaluable subjects (non-evaluable ones are replaced);
    2. 0/3 DLT: escalate; 1/3: treat 3 more, then <= 1/6 escalates and >= 2/6 exceeds;
       >= 2/3: the level exceeds the MTD; two DLTs exceed it at once (no more subjects there);
    3. when a level is exceeded, the level below is the MTD if it has >= 6 evaluable with
       <= 1 DLT; with only 3 there, 3 more are treated there first (de-escalation);
    4. at the top level a safe cohort is always expanded to 6; if no level was exceeded the
       MTD is not established and expansion runs at the top level;
    5. if the lowest level is exceeded, no MTD and expansion runs at the lowest level.
    The subject budget (enrolled subjects) can cut the path short: then no MTD.
    """
    slots: list[EscalationSlot] = []
    ev = [0] * n_levels
    dl = [0] * n_levels
    decision = ["not_tested"] * n_levels
    cohort_no = 0
    level = 0
    mtd: int | None = None
    exhausted = False
    while True:
        cohort_no += 1
        g, d = _treat(outcome, level, 3, cohort_no, budget, slots)
        ev[level] += g
        dl[level] += d
        if g < 3 and dl[level] < 2:
            exhausted = True
            break
        exceeded = False
        if dl[level] >= 2:
            exceeded = True
        elif dl[level] == 1 or level == n_levels - 1:
            if ev[level] < 6:
                cohort_no += 1
                g, d = _treat(outcome, level, 3, cohort_no, budget, slots, dl[level])
                ev[level] += g
                dl[level] += d
                if g < 3 and dl[level] < 2:
                    exhausted = True
                    break
            exceeded = dl[level] >= 2
        if not exceeded:
            if level == n_levels - 1:
                decision[level] = "top_dose_safe"
                break
            decision[level] = "escalate"
            level += 1
            continue
        decision[level] = "exceeds_mtd"
        # walk down until a level holds >= 6 evaluable with <= 1 DLT
        below = level - 1
        while below >= 0:
            if ev[below] < 6:
                cohort_no += 1
                g, d = _treat(outcome, below, 6 - ev[below], cohort_no, budget, slots, dl[below])
                ev[below] += g
                dl[below] += d
                if ev[below] < 6 and dl[below] < 2:
                    exhausted = True
                    break
            if dl[below] <= 1:
                mtd = below
                decision[below] = "mtd"
                break
            decision[below] = "exceeds_mtd"
            below -= 1
        break
    if exhausted:
        mtd = None
    treated = [sum(1 for s in slots if s.level == i) for i in range(n_levels)]
    per_level = [
        {
            "level_index": i,
            "treated": treated[i],
            "dlt_evaluable": ev[i],
            "dlts": dl[i],
            "decision": decision[i] if treated[i] else "not_tested",
        }
        for i in range(n_levels)
    ]
    if mtd is not None:
        expansion = mtd
    elif decision[-1] == "top_dose_safe" or exhausted:
        expansion = (
            max((s.level for s in slots), default=0) if decision[-1] == "top_dose_safe" else level
        )
    else:
        expansion = 0
    return EscalationResult(slots, per_level, mtd, expansion)
