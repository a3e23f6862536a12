"""The visits of one combination cycle: day 1 (from cycle 2), and the counts on days 8 and 15.

The day-1 visit carries the myeloma panel, CBC, chemistry, immunoglobulins, vitals and the
investigator's assessment; days 8 and 15 a CBC (platelet and neutrophil nadir), and in
cycle 1 also the myeloma panel, chemistry and an assessment (the early kinetics). Missing
visits (feed mess, the separate generator) are visits not done: from C3D1 and from C2D8.
"""

from __future__ import annotations

import numpy as np

from cfz_platform.simulate.assessment import ResponseTrack, simulate_assessment
from cfz_platform.simulate.course_state import CourseState, Cycle
from cfz_platform.simulate.kinetics import compute_factor
from cfz_platform.simulate.subject_sim import SubjectSim, noise
from cfz_platform.simulate.subjects import SubjectPlan

#: a CBC as drawn: platelets, neutrophils, haemoglobin, lymphocytes
Counts = tuple[float, float, float, float]
DLT_KINDS_DRAWN = ("PLAT4", "NEUT4", "FN", "NONHEME")  # expansion cycle 1 (no planned kind)


def compute_resp_boost(sim: SubjectSim, t: int) -> float:
    """Count and haemoglobin recovery ``t`` days after the first dose: the share of the
    M-protein gone (1 - kinetic factor, at least 0) in responders, 0 in non-responders."""
    kq = float(compute_factor(sim.f, sim.d, sim.g, t))
    return (1 - min(1.0, kq)) if sim.responder else 0.0


def simulate_day1_visit(sim: SubjectSim, track: ResponseTrack, cyc: Cycle) -> bool:
    """Day-1 visit of cycle ``cyc`` (cycle 2 on); False when the visit was not done.

    Steps: 1. from C3D1, a missing visit (feed mess) is a visit not done; 2. myeloma panel,
    CBC (platelets and haemoglobin recovering with response), chemistry, immunoglobulins
    with beta2M (one lag), vitals; 3. the investigator's assessment (skeletal survey on C4D1
    and C7D1).
    """
    rng = sim.rng
    c, cs = cyc.number, cyc.start
    t1 = cs - track.fd
    v1 = f"C{c}D1"
    if c >= 3 and sim._skip_visit(v1, cs):
        return False
    lag = sim._lag()
    pan = sim.resp_panel(cs, t1, v1, lag)
    sim.cbc(
        cs,
        v1,
        lag,
        sim.plat0 * (1 + 0.1 * cyc.resp_boost) * float(rng.uniform(0.92, 1.0)) * noise(rng),
        sim.neut0 * noise(rng),
        (sim.hgb0 + 1.2 * cyc.resp_boost) * noise(rng),
        sim.lym0 * 0.8 * noise(rng),
    )
    sim.chem(cs, v1, lag, t1)
    sim.igs(cs, v1, lag, t1)
    sim.vs(cs, v1, sim._lag(1, 8))
    simulate_assessment(sim, track, cs, v1, pan, "TREATMENT", True, c in (4, 7), lag)
    return True


def draw_dip_depths(sim: SubjectSim) -> tuple[float, float]:
    """This cycle's platelet and neutrophil dip depths: the subject's, +/- 20%."""
    rng = sim.rng
    pdep = sim.pdepth * float(rng.uniform(0.8, 1.2))
    ndep = sim.ndepth * float(rng.uniform(0.8, 1.2))
    return pdep, ndep


def draw_dlt_kind(
    rng: np.random.Generator, plan: SubjectPlan, c: int, dlt_event: bool, esc: bool
) -> str | None:
    """The kind of cycle ``c``'s DLT event: only in cycle 1 with a DLT event.

    Steps: draw one of ``DLT_KINDS_DRAWN``; an escalation subject with a planned kind
    (``plan.esc_dlt_kind``) takes that instead (the draw is made all the same).
    """
    if not (c == 1 and dlt_event):
        return None
    kind = DLT_KINDS_DRAWN[int(rng.integers(0, 4))]
    if esc and plan.esc_dlt_kind:
        kind = plan.esc_dlt_kind
    return kind


def draw_cycle_counts(
    sim: SubjectSim,
    plan: SubjectPlan,
    cyc: Cycle,
    esc: bool,
    dips: tuple[float, float],
    aux: np.random.Generator,
) -> dict[int, Counts]:
    """The CBC of days 8 and 15 of the cycle, keyed by the cycle day.

    Steps: 1. the dip's share on each day (days 8 then 15, both drawn first); 2. per day:
    platelets and neutrophils down by dip x share; escalation cycle 1 without a planned DLT
    stays above the grade-4 lines; the cycle-1 DLT kind sets them: PLAT4 platelets 12-24 on
    day 8, PLAT3BLEED 27-45 on day 8 (``aux``) and >= 30 on day 15, NEUT4 neutrophils
    0.2-0.45, FN 0.3-0.9 on day 15; haemoglobin (recovering with response) and lymphocytes
    dip a little.
    """
    rng = sim.rng
    pdep, ndep = dips
    c, kind = cyc.number, cyc.dlt_kind
    counts: dict[int, Counts] = {}
    for dd, bump in ((8, rng.uniform(0.6, 1.0)), (15, rng.uniform(0.75, 1.0))):
        plat = sim.plat0 * (1 - pdep * bump) * noise(rng)
        neut = sim.neut0 * (1 - ndep * bump) * noise(rng)
        if c == 1 and esc and not plan.esc_dlt:
            plat, neut = max(plat, 26.0), max(neut, 0.55)
        if kind == "PLAT4" and dd == 8:
            plat = float(rng.uniform(12, 24))
        if kind == "PLAT3BLEED":
            plat = float(aux.uniform(27, 45)) if dd == 8 else max(plat, 30.0)
        if kind == "NEUT4":
            neut = float(rng.uniform(0.2, 0.45))
        if kind == "FN" and dd == 15:
            neut = float(rng.uniform(0.3, 0.9))
        counts[dd] = (
            plat,
            neut,
            (sim.hgb0 + 1.2 * cyc.resp_boost - 0.6 * bump) * noise(rng),
            sim.lym0 * (1 - 0.4 * bump) * noise(rng),
        )
    return counts


def simulate_count_visits(
    sim: SubjectSim,
    track: ResponseTrack,
    course: CourseState,
    cyc: Cycle,
    counts: dict[int, Counts],
) -> None:
    """Days 8 and 15 of the cycle: the CBC sent (``cyc.sent_counts``) and cycle-1 kinetics.

    Steps, per day: 1. none after the cutoff or ``cyc.stop_day``; from cycle 2 a missing
    visit is not done; 2. CBC of ``counts``; 3. cycle 1: myeloma panel, chemistry and an
    assessment without investigator rows; PD confirmed here ends dosing on this day.
    """
    c = cyc.number
    for dd in (8, 15):
        day = cyc.start + dd - 1
        if day > course.cutoff or day > cyc.stop_day:
            continue
        v = f"C{c}D{dd}"
        if c >= 2 and sim._skip_visit(v, day):
            continue
        lag = sim._lag()
        cyc.sent_counts[day] = sim.cbc(day, v, lag, *counts[dd])
        if c == 1:
            pan = sim.resp_panel(day, day - course.fd, v, lag)
            sim.chem(day, v, lag, day - course.fd)
            simulate_assessment(sim, track, day, v, pan, "TREATMENT", False, False, lag)
            if track.stop:
                cyc.stop_day = day
