"""After treatment: death from PD, a new anti-myeloma regimen (CM), AEs ongoing at the data cut.

``simulate_follow_up`` strings these together once the combination, the final assessment and
maintenance are done, with the scenario hooks ae-ongoing and partial-dates.
"""

from __future__ import annotations

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.assessment import ResponseTrack, flag_last_investigator_record
from cfz_platform.simulate.course_state import CourseState
from cfz_platform.simulate.records import Record, iso
from cfz_platform.simulate.safety import FATAL, NONHEME, AdverseEvent
from cfz_platform.simulate.subject_sim import SubjectSim
from cfz_platform.simulate.subjects import SubjectPlan

NEW_THERAPIES: tuple[tuple[tuple[str, str, str], ...], ...] = (
    (("Pomalidomide", "4", "mg"), ("Dexamethasone", "40", "mg")),
    (("Daratumumab", "16", "mg/kg"), ("Dexamethasone", "20", "mg")),
    (("Pomalyst", "4", "mg"), ("Decadron", "40", "mg")),
    (("Bendamustine", "90", "mg/m2"), ("Prednisone", "60", "mg/m2")),
)
NEW_THERAPY_CMCAT = "SUBSEQUENT MYELOMA THERAPY"


def new_therapy_records(sim: SubjectSim, start: int, aux: np.random.Generator) -> None:
    """CM rows of a new anti-myeloma regimen started on ``start`` (ongoing: no CMENDTC).

    Steps: pick a salvage regimen (synonyms such as Pomalyst/Decadron included); one CM row
    per drug with CMCAT "SUBSEQUENT MYELOMA THERAPY" and CMGRPID "POST1"; available 7-20 days later.
    """
    drugs = NEW_THERAPIES[int(aux.integers(0, len(NEW_THERAPIES)))]
    avail = min(start + int(aux.integers(7, 21)), sim.cutoff + P.MAX_LAG_DAYS)
    for trt, dose, unit in drugs:
        sim.records.append(
            Record(
                "cm",
                avail,
                [
                    P.STUDYID,
                    "CM",
                    sim.p.usubjid,
                    trt,
                    NEW_THERAPY_CMCAT,
                    "POST1",
                    dose,
                    unit,
                    iso(start),
                    "",
                ],
            )
        )


def ongoing_ae(sim: SubjectSim, fd: int, death: int | None, aux: np.random.Generator) -> None:
    """Scenario ae-ongoing: a grade 1-2 AE with no end date (not resolved at the data cut).

    Steps: take a resolved grade 1-2 non-haematologic AE started after cycle 1, or add a grade 2
    peripheral sensory neuropathy from day 31 (when the subject is alive then); drop its end.
    """
    cands = [
        e
        for e in sim.events
        if fd + 27 < e.start <= sim.cutoff
        and e.grade <= 2
        and e.decod in NONHEME
        and (death is None or e.start < death)
    ]
    if cands:
        cands[int(aux.integers(0, len(cands)))].end = None
        return
    on = fd + 30
    if on <= sim.cutoff and (death is None or on < death):
        bodsys, terms, _w = NONHEME["Peripheral sensory neuropathy"]
        sim.events.append(
            AdverseEvent("Peripheral sensory neuropathy", terms[0], bodsys, 2, on, None, "POSSIBLE")
        )


def simulate_pd_death(
    sim: SubjectSim, track: ResponseTrack, course: CourseState, nt_on_pd: bool
) -> None:
    """Death from progressive disease after confirmed PD (``course.death``, an AE).

    Steps: 1. only after confirmed PD, alive, and not scenario new-therapy-on-assessment at
    PD; 2. 35% die 15-199 days after the PD-confirming assessment; 3. by the cutoff: death
    cause PROGRESSIVE DISEASE and a grade-5 AE "Disease progression", NOT RELATED, serious.
    """
    rng = sim.rng
    if track.stop == "PD" and course.death is None and not nt_on_pd and rng.random() < 0.35:
        assert track.pd_confirm is not None
        dday = track.pd_confirm + int(rng.integers(15, 200))
        if dday <= course.cutoff:
            course.death, course.death_cause = dday, "PROGRESSIVE DISEASE"
            bodsys, term = FATAL["Disease progression"]
            sim.events.append(
                AdverseEvent(
                    "Disease progression", term, bodsys, 5, dday, dday, "NOT RELATED", True
                )
            )


def draw_new_therapy_start(
    aux: np.random.Generator, track: ResponseTrack, course: CourseState, nt_on_pd: bool
) -> int | None:
    """Start day of a new anti-myeloma regimen (off study), or None.

    Steps: 1. scenario new-therapy-on-assessment: on the PD-confirming assessment day (or the
    day-1 visit the combination stopped on, ``course.new_therapy``); 2. after PD: 60% start
    14-42 days after the PD-confirming assessment; 3. after stopping for toxicity: 60% start
    10-26 days after the last dose (else that cycle's day 1), before the final assessment;
    4. none after the cutoff or on/after death.
    """
    start = course.new_therapy
    if nt_on_pd:
        start = track.pd_confirm
    elif start is not None:
        pass
    elif course.stop_reason == "PD" and track.pd_confirm is not None and aux.random() < 0.6:
        start = track.pd_confirm + int(aux.integers(14, 43))
    elif course.stop_reason == "TOX" and aux.random() < 0.6:
        start = (course.last_dose_day or course.cs) + int(aux.integers(10, 27))
    if start is not None and (
        start > course.cutoff or (course.death is not None and start >= course.death)
    ):
        return None
    return start


def mark_partial_start(sim: SubjectSim, fd: int, aux: np.random.Generator) -> None:
    """Scenario partial-dates: one grade 1-2 non-haematologic AE after cycle 1 gets a
    month-only start date (when there is one)."""
    later = [e for e in sim.events if e.start > fd + 27 and e.grade <= 2 and e.decod in NONHEME]
    if later:
        later[int(aux.integers(0, len(later)))].partial_start = True


def simulate_follow_up(
    sim: SubjectSim,
    plan: SubjectPlan,
    track: ResponseTrack,
    course: CourseState,
    aux: np.random.Generator,
) -> None:
    """After treatment: death from PD, new therapy, and the AE scenario hooks.

    Steps: 1. death from PD (``simulate_pd_death``); 2. new anti-myeloma therapy
    (``draw_new_therapy_start``, ``course.new_therapy``) and its CM rows
    (``new_therapy_records``; scenario investigator-flags NACTDT: NACTDT on the latest
    investigator OVRLRESP record instead, no CM row); 3. scenario ae-ongoing: an AE with no end (``ongoing_ae``);
    4. scenario partial-dates: a month-only AE start (``mark_partial_start``).
    """
    nt_on_pd = plan.scenario == "new-therapy-on-assessment" and course.stop_reason == "PD"
    simulate_pd_death(sim, track, course, nt_on_pd)
    course.new_therapy = draw_new_therapy_start(aux, track, course, nt_on_pd)
    if course.new_therapy is not None and course.flag_variant == "NACTDT":
        # scenario investigator-flags: told only by the investigator record (feeds.md RS)
        flag_last_investigator_record(sim, "NACTDT", iso(course.new_therapy))
    elif course.new_therapy is not None:
        new_therapy_records(sim, course.new_therapy, aux)
    if plan.scenario == "ae-ongoing":
        ongoing_ae(sim, course.fd, course.death, aux)
    if plan.scenario == "partial-dates":
        mark_partial_start(sim, course.fd, aux)
