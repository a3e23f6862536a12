"""The combination phase: up to 8 cycles of 28 days, each a sequence of phases.

A cycle: day-1 visit (from cycle 2) and its stop at confirmed PD or new therapy; the day 8 /
15 counts with the cycle-1 DLT kind; the scenario early death; the count visits; the AEs
(``cycle_aes``); carfilzomib and partner drugs (``dosing``); then the stop decision (death,
PD, cutoff, a third dose reduction, toxicity) or the delay and dose of the next cycle.
"""

from __future__ import annotations

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.assessment import (
    ResponseTrack,
    flag_last_investigator_record,
    simulate_assessment,
)
from cfz_platform.simulate.course_state import CourseState, Cycle
from cfz_platform.simulate.cycle_aes import draw_early_death, simulate_cycle_aes
from cfz_platform.simulate.cycle_visits import (
    compute_resp_boost,
    draw_cycle_counts,
    draw_dip_depths,
    draw_dlt_kind,
    simulate_count_visits,
    simulate_day1_visit,
)
from cfz_platform.simulate.dosing import LOWER, dose_cycle
from cfz_platform.simulate.safety import FATAL, AdverseEvent
from cfz_platform.simulate.subject_sim import SubjectSim
from cfz_platform.simulate.subjects import SubjectPlan
from cfz_platform.simulate.withdrawal import mark_withdrawal

UNSCHEDULED = "UNSCHEDULED"


def simulate_combination(
    sim: SubjectSim,
    plan: SubjectPlan,
    track: ResponseTrack,
    course: CourseState,
    aux: np.random.Generator,
) -> None:
    """Simulate the combination cycles; ``course.stop_reason`` says how they ended.

    Steps, per cycle 1..8: 1. day 1: the previous cycle's + 28 days + its delay; 2. stop
    before the cycle at the cutoff (CUTOFF) or, scenario consent-withdrawn, at its cycle
    (WITHDRAWN); 3. note the start of cycles 2 and 4 (DLT window, early labels); 4. the cycle
    (``simulate_cycle``) until it ends the phase. All 8 cycles given: COMPLETED.
    """
    for c in range(1, P.N_COMBINATION_CYCLES + 1):
        if c > 1:
            course.cs = course.cs + P.CYCLE_DAYS + course.delay
        if course.cs > course.cutoff:
            course.stop_reason = "CUTOFF"
            return
        if plan.scenario == "consent-withdrawn" and c == course.stop_cycle:
            course.stop_reason = "WITHDRAWN"
            return
        if c == 2:
            course.c2_start = course.cs
        if c == 4:
            course.c4_start = course.cs
        if simulate_cycle(sim, plan, track, course, c, aux):
            return
    course.stop_reason = "COMPLETED"


def simulate_cycle(
    sim: SubjectSim,
    plan: SubjectPlan,
    track: ResponseTrack,
    course: CourseState,
    c: int,
    aux: np.random.Generator,
) -> bool:
    """Simulate combination cycle ``c`` starting on ``course.cs``; True when it ends the phase.

    Steps:
    1. day-1 visit from cycle 2 (``simulate_day1_visit``): stop at confirmed PD; scenario
       new-therapy-on-assessment (and investigator-flags NACTDT): new therapy starts on a
       day-1 assessment after its cycle; investigator-flags DTHPDFL: after its cycle, at a
       day-1 visit not PD, death from PD 8-20 days later (``draw_pd_death_without_pd``),
       told by DTHPDFL = Y on the latest investigator record;
    2. the cycle's dip depths, the cycle-1 DLT kind, the day 8 / 15 counts;
    3. scenario early-death (cycle 1): death before C1D8, no dose from the day before;
    4. the count visits (``simulate_count_visits``) and the AEs (``simulate_cycle_aes``);
    5. doses (``simulate_cycle_dosing``); scenario unscheduled-visits: an UNSCHEDULED
       assessment on day 22 of cycles 2 and 3 (``simulate_unscheduled_visit``); the stop
       decision (``simulate_stop_decision``).
    """
    rng = sim.rng
    cyc = Cycle(c, course.cs, compute_resp_boost(sim, course.cs - course.fd), course.cutoff)
    if c > 1 and simulate_day1_visit(sim, track, cyc):
        if track.stop:
            course.stop_reason = "PD"
            return True
        nt_on_day1 = plan.scenario == "new-therapy-on-assessment" or course.flag_variant == "NACTDT"
        if nt_on_day1 and c >= course.stop_cycle + 1:
            course.new_therapy, course.stop_reason = cyc.start, "NEW THERAPY"  # on this day
            return True
        if (
            course.flag_variant == "DTHPDFL"
            and c >= course.stop_cycle + 1
            and not track.pending_pd
            and course.death is None
        ):
            course.death, ev = draw_pd_death_without_pd(aux, cyc.start)
            cyc.events.append(ev)
            course.death_cause = "PROGRESSIVE DISEASE"
            cyc.stop_day = course.death - 1
            flag_last_investigator_record(sim, "DTHPDFL", "Y")
    dips = draw_dip_depths(sim)
    cyc.dlt_kind = draw_dlt_kind(rng, plan, c, course.dlt_event, course.esc)
    counts = draw_cycle_counts(sim, plan, cyc, course.esc, dips, aux)
    if plan.scenario == "early-death" and c == 1:  # before the first response assessment (C1D8)
        course.death, ev = draw_early_death(aux, course.fd)
        cyc.events.append(ev)
        course.death_cause = "ADVERSE EVENT"
        cyc.stop_day = course.death - 1
    simulate_count_visits(sim, track, course, cyc, counts)
    simulate_cycle_aes(sim, plan, track, course, cyc, aux)
    holds = simulate_cycle_dosing(sim, plan, course, cyc)
    if plan.scenario == "unscheduled-visits" and c in (2, 3):
        simulate_unscheduled_visit(sim, track, course, cyc.start + 21)
    return simulate_stop_decision(rng, aux, track, course, cyc, holds, sim.events)


def simulate_unscheduled_visit(
    sim: SubjectSim, track: ResponseTrack, course: CourseState, day: int
) -> None:
    """Scenario unscheduled-visits: a response assessment with VISIT UNSCHEDULED on ``day``.

    Steps: none after confirmed PD, a death or the cutoff; the myeloma panel and the
    investigator's assessment (OVRLRESP, ECOG), all labelled UNSCHEDULED (domain.md 4: an
    assessment of its own date).
    """
    if track.stop or course.death is not None or day > course.cutoff:
        return
    lag = sim._lag()
    pan = sim.resp_panel(day, day - course.fd, UNSCHEDULED, lag)
    simulate_assessment(sim, track, day, UNSCHEDULED, pan, "TREATMENT", True, False, lag)


def draw_pd_death_without_pd(aux: np.random.Generator, cs: int) -> tuple[int, AdverseEvent]:
    """Scenario investigator-flags (DTHPDFL): death from PD 8-20 days after a day-1 visit whose
    assessment was not PD, coded as a general decline (a term outside the PD-death list)."""
    death = cs + int(aux.integers(7, 20))
    bodsys, term = FATAL["General physical health deterioration"]
    ev = AdverseEvent(
        "General physical health deterioration",
        term,
        bodsys,
        5,
        death - int(aux.integers(0, 3)),
        death,
        "NOT RELATED",
        True,
    )
    return death, ev


def simulate_cycle_dosing(
    sim: SubjectSim, plan: SubjectPlan, course: CourseState, cyc: Cycle
) -> list[AdverseEvent]:
    """EX rows of the cycle (``dosing.dose_cycle``); return the AEs that hold dosing.

    Steps: 1. AEs that hold dosing change their action to DRUG INTERRUPTED; 2. carfilzomib at
    ``course.dose`` and the partner drugs up to the cycle's stop day: held from the cycle-1
    DLT event, the escalation day-16 dose missed for a non-toxic reason, scenario
    cfz-held-c1d1 holds C1D1; 3. the last dose day and the cycles started are updated.
    """
    c = cyc.number
    holds = [e for e in cyc.events if e.holds_dosing]
    for e in holds:
        if e.acn == "DOSE NOT CHANGED":
            e.acn = "DRUG INTERRUPTED"
    got = dose_cycle(
        sim,
        c,
        cyc.start,
        course.dose,
        float(plan.dose),
        holds,
        cyc.dlt_ev if c == 1 else None,
        c == 1 and course.esc and plan.esc_missed_dose,
        min(cyc.stop_day, course.cutoff),
        "TREATMENT",
        hold_day1=c == 1 and plan.scenario == "cfz-held-c1d1",
    )
    if got is not None:
        course.last_dose_day = got
    course.cycles_done = c
    return holds


def simulate_stop_decision(
    rng: np.random.Generator,
    aux: np.random.Generator,
    track: ResponseTrack,
    course: CourseState,
    cyc: Cycle,
    holds: list[AdverseEvent],
    events: list[AdverseEvent],
) -> bool:
    """After the cycle: stop the combination (True, ``course.stop_reason``) or set the next.

    Steps: 1. stop at death (DEATH), confirmed PD (PD), or when the next cycle would start
    after the cutoff (CUTOFF); 2. AEs that held dosing: one dose level down, a third
    reduction stops (TOX), the next cycle delayed 7-21 days after a cycle-1 DLT, else 7-14;
    no hold: 80% on time, else 1-5 days late; 3. the cycle-1 DELAY DLT delays cycle 2 by
    15-21 days (``aux``); 4. otherwise 1.5% stop for toxicity (TOX). A stop for toxicity
    records the AE that caused it (``withdrawal.mark_withdrawal``: AEACN DRUG WITHDRAWN; a
    drawn one joins ``events``, the subject's AEs).
    """
    c = cyc.number
    if course.death is not None:
        course.stop_reason = "DEATH"
        return True
    if track.stop:
        course.stop_reason = "PD"
        return True
    if cyc.start + P.CYCLE_DAYS > course.cutoff:
        course.stop_reason = "CUTOFF"
        return True
    if holds:
        course.reductions += 1
        if course.reductions > 2:
            course.stop_reason = "TOX"
            mark_withdrawal(course, cyc, holds, events)
            return True
        course.dose = LOWER[course.dose]
        course.delay = (
            int(rng.integers(7, 22))
            if (c == 1 and cyc.dlt_ev is not None)
            else int(rng.integers(7, 15))
        )
    else:
        course.delay = 0 if rng.random() < 0.8 else int(rng.integers(1, 6))
    delay_dlt = c == 1 and cyc.dlt_kind == "DELAY"
    if delay_dlt:
        course.delay = 15 + int(aux.integers(0, 7))  # the interrupting toxicity delays cycle 2
    if rng.random() < 0.015 and not delay_dlt:
        course.stop_reason = "TOX"
        mark_withdrawal(course, cyc, [], events)
        return True
    return False
