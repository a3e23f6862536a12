"""Maintenance: single-agent carfilzomib in 28-day cycles at the last combination dose (domain.md 1).

Cycles continue the numbering (VISIT C9D1, ...); day 1 carries CBC and chemistry and, from the
second maintenance cycle, the myeloma panel and an assessment (a skeletal survey every third);
day 15 a CBC; a few AEs and, rarely, a non-PD death. Stops at confirmed PD, death or the cut.
"""

from __future__ import annotations

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.assessment import ResponseTrack, simulate_assessment
from cfz_platform.simulate.course_state import CourseState
from cfz_platform.simulate.dosing import dose_cycle
from cfz_platform.simulate.safety import FATAL, AdverseEvent, draw_nonheme
from cfz_platform.simulate.subject_sim import SubjectSim, noise
from cfz_platform.simulate.subjects import SubjectPlan


def simulate_maintenance(
    sim: SubjectSim, plan: SubjectPlan, track: ResponseTrack, course: CourseState
) -> None:
    """Simulate maintenance from ``course.maint_start``; a death, the last dose day and the
    first maintenance dose given go to ``course`` (``death``, ``death_cause``,
    ``last_dose_day``, ``maint_first_dose``: None when no maintenance dose was given, e.g. a
    death on the first maintenance day).

    Steps, per maintenance cycle m = 1, 2, ... (VISIT C<cycles done + m>): 1. stop after the
    cutoff; 2. day-1 visit (``simulate_maintenance_day1``), stop at confirmed PD; 3. day-15
    CBC (``simulate_maintenance_day15``); 4. a few non-haematologic AEs (mean 0.35) and
    rarely a death (``draw_maintenance_death``: no dose from the day before); 5. carfilzomib
    at the last combination dose (``dosing.dose_cycle``, EPOCH MAINTENANCE); 6. stop at
    death, else the next cycle 28 days on (20% of the time 1-5 days late).
    """
    rng = sim.rng
    assert course.maint_start is not None
    ms = course.maint_start
    m = 0
    while True:
        m += 1
        if ms > course.cutoff:
            break
        mc = course.cycles_done + m  # maintenance cycles continue the numbering (VISIT "CnDd")
        simulate_maintenance_day1(sim, track, course, m, mc, ms)
        if track.stop:
            break
        simulate_maintenance_day15(sim, course, mc, ms)
        evs = draw_nonheme(rng, int(rng.poisson(0.35)), ms, P.CYCLE_DAYS)
        stop_day = course.cutoff
        drawn = draw_maintenance_death(rng, ms)
        if drawn is not None:
            course.death, ev = drawn
            evs.append(ev)
            course.death_cause = "ADVERSE EVENT"
            stop_day = course.death - 1
        sim.events += evs
        holds = [e for e in evs if e.holds_dosing]
        given: list[int] = []
        got = dose_cycle(
            sim,
            mc,
            ms,
            course.dose,
            float(plan.dose),
            holds,
            None,
            False,
            stop_day,
            "MAINTENANCE",
            given_days=given,
        )
        if got is not None:
            course.last_dose_day = got
        if given and course.maint_first_dose is None:
            course.maint_first_dose = min(given)
        if course.death is not None:
            break
        ms = ms + P.CYCLE_DAYS + (0 if rng.random() < 0.8 else int(rng.integers(1, 6)))


def simulate_maintenance_day1(
    sim: SubjectSim, track: ResponseTrack, course: CourseState, m: int, mc: int, ms: int
) -> None:
    """Day 1 of maintenance cycle ``m`` (VISIT C<mc>D1) starting on ``ms``.

    Steps: 1. from the second cycle a missing visit (feed mess) is a visit not done; 2. CBC
    (haemoglobin recovered by 1 g/dL) and chemistry; 3. from the second cycle the myeloma
    panel, vitals and the investigator's assessment (skeletal survey every third cycle).
    """
    rng = sim.rng
    v1 = f"C{mc}D1"
    t1 = ms - course.fd
    if m >= 2 and sim._skip_visit(v1, ms):
        return
    lag = sim._lag()
    sim.cbc(
        ms,
        v1,
        lag,
        sim.plat0 * noise(rng),
        sim.neut0 * noise(rng),
        (sim.hgb0 + 1.0) * noise(rng),
        sim.lym0 * noise(rng),
    )
    sim.chem(ms, v1, lag, t1)
    if m >= 2:
        pan = sim.resp_panel(ms, t1, v1, lag)
        sim.vs(ms, v1, sim._lag(1, 8))
        simulate_assessment(sim, track, ms, v1, pan, "MAINTENANCE", True, m % 3 == 0, lag)


def simulate_maintenance_day15(sim: SubjectSim, course: CourseState, mc: int, ms: int) -> None:
    """Day 15 of the maintenance cycle starting on ``ms``: a CBC with a milder dip.

    Steps: none after the cutoff or when missed (feed mess); platelets and neutrophils down
    by 70% of the subject's dip depth x a 0.7-1.0 share, haemoglobin recovered by 1 g/dL.
    """
    rng = sim.rng
    d15 = ms + 14
    if d15 > course.cutoff or sim._skip_visit(f"C{mc}D15", d15):
        return
    bump = float(rng.uniform(0.7, 1.0))
    sim.cbc(
        d15,
        f"C{mc}D15",
        sim._lag(),
        sim.plat0 * (1 - 0.7 * sim.pdepth * bump) * noise(rng),
        sim.neut0 * (1 - 0.7 * sim.ndepth * bump) * noise(rng),
        (sim.hgb0 + 1.0) * noise(rng),
        sim.lym0 * 0.7 * noise(rng),
    )


def draw_maintenance_death(rng: np.random.Generator, ms: int) -> tuple[int, AdverseEvent] | None:
    """A death not from PD in the maintenance cycle starting on ``ms`` (0.4%).

    Steps: 1. 0.4% chance; 2. death on a day of the cycle; 3. a grade-5 sepsis or cardiac
    failure starting 0-5 days before it, UNLIKELY related, serious.
    """
    if rng.random() >= 0.004:
        return None
    death = ms + int(rng.integers(0, P.CYCLE_DAYS))
    cause = ("Sepsis", "Cardiac failure")[int(rng.integers(0, 2))]
    bodsys, term = FATAL[cause]
    ev = AdverseEvent(
        cause, term, bodsys, 5, death - int(rng.integers(0, 6)), death, "UNLIKELY", True
    )
    return death, ev
