"""Maintenance: single-agent carfilzomib in 28-day cycles at the last combination dose (domain.md 1).

Cycles continue the numbering (VISIT C9D1, ...); day 1 carries CBC and chemistry and, from the
second maintenance cycle, the myeloma panel and an assessment (a skeletal survey every third);
day 15 a CBC; a few AEs and, rarely, a non-PD death. Stops at confirmed PD, death or the cut.
"""

from __future__ import annotations

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.assessment import ResponseTrack, simulate_assessment
from cfz_platform.simulate.dosing import dose_cycle
from cfz_platform.simulate.safety import FATAL, AdverseEvent, draw_nonheme
from cfz_platform.simulate.subject_sim import SubjectSim, noise
from cfz_platform.simulate.subjects import SubjectPlan


def simulate_maintenance(
    sim: SubjectSim,
    plan: SubjectPlan,
    start: int,
    cutoff: int,
    fd: int,
    dose: float,
    cycles_done: int,
    track: ResponseTrack,
    rng: np.random.Generator,
) -> tuple[int | None, str, int | None]:
    """Simulate maintenance from ``start``; return (death day, death cause, last dose day).

    Assessments go through ``assessment.simulate_assessment``, which sets ``track.stop`` at
    confirmed PD.
    """
    mdose = dose
    ms = start
    m = 0
    death: int | None = None
    death_cause = ""
    last_dose_day: int | None = None
    while True:
        m += 1
        if ms > cutoff:
            break
        mc = cycles_done + m  # maintenance cycles continue the numbering (VISIT "CnDd")
        v1 = f"C{mc}D1"
        t1 = ms - fd
        if not (m >= 2 and sim._skip_visit(v1, ms)):
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
                if track.stop:
                    break
        d15 = ms + 14
        if d15 <= cutoff and not sim._skip_visit(f"C{mc}D15", d15):
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
        evs = draw_nonheme(rng, int(rng.poisson(0.35)), ms, P.CYCLE_DAYS)
        stop_day = cutoff
        if rng.random() < 0.004:
            death = ms + int(rng.integers(0, P.CYCLE_DAYS))
            cause = ("Sepsis", "Cardiac failure")[int(rng.integers(0, 2))]
            bodsys, term = FATAL[cause]
            evs.append(
                AdverseEvent(
                    cause, term, bodsys, 5, death - int(rng.integers(0, 6)), death, "UNLIKELY", True
                )
            )
            death_cause = "ADVERSE EVENT"
            stop_day = death - 1
        sim.events += evs
        holds = [e for e in evs if e.holds_dosing]
        got = dose_cycle(
            sim, mc, ms, mdose, float(plan.dose), holds, None, False, stop_day, "MAINTENANCE"
        )
        if got is not None:
            last_dose_day = got
        if death is not None:
            break
        ms = ms + P.CYCLE_DAYS + (0 if rng.random() < 0.8 else int(rng.integers(1, 6)))
    return death, death_cause, last_dose_day
