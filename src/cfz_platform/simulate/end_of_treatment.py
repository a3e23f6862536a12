"""The final assessment (VISIT EOT, EPOCH FOLLOW-UP) and the decision to start maintenance."""

from __future__ import annotations

from cfz_platform.simulate import params as P
from cfz_platform.simulate.assessment import ResponseTrack, simulate_assessment
from cfz_platform.simulate.course_state import CourseState
from cfz_platform.simulate.subject_sim import SubjectSim

EOT_AFTER = ("COMPLETED", "TOX")  # combination stop reasons followed by a final assessment


def compute_eot_day(course: CourseState) -> int | None:
    """Day of the final assessment: 28 days after the last combination cycle ends.

    Steps: after all 8 cycles (COMPLETED): day 1 of the last cycle + 28 + 27; after stopping
    for toxicity (TOX): the last dose (else that cycle's day 1) + 28; otherwise none.
    """
    if course.stop_reason not in EOT_AFTER:
        return None
    if course.stop_reason == "COMPLETED":
        return course.cs + P.CYCLE_DAYS + 27
    return (course.last_dose_day or course.cs) + 28


def simulate_final_assessment(sim: SubjectSim, track: ResponseTrack, course: CourseState) -> None:
    """The EOT visit, when due by the cutoff; sets ``course.maint_start`` for maintenance.

    Steps: 1. the EOT day (``compute_eot_day``), none after the cutoff; 2. full labs and
    vitals (``SubjectSim.full_visit``) and the investigator's assessment with a skeletal
    survey; 3. PD confirmed there: stop reason PD; after all 8 cycles, with an EOT response
    other than PD or NE, 85% start maintenance 1-7 days later.
    """
    eot_day = compute_eot_day(course)
    if eot_day is None or eot_day > course.cutoff:
        return
    pan, _b2m, lag = sim.full_visit(eot_day, "EOT", eot_day - course.fd)
    simulate_assessment(sim, track, eot_day, "EOT", pan, "FOLLOW-UP", True, True, lag)
    last_cat = track.assessor.history[-1].category
    if track.stop:
        course.stop_reason = "PD"
    elif (
        course.stop_reason == "COMPLETED"
        and last_cat not in ("PD", "NE")
        and sim.rng.random() < 0.85
    ):
        course.maint_start = eot_day + int(sim.rng.integers(1, 8))
