"""The AEs of one combination cycle: non-haematologic, the cycle-1 DLT, haematologic, deaths.

``simulate_cycle_aes`` strings them together in a fixed order (the order of the generator
draws is part of the simulator's output); the ``draw_*`` functions each draw one kind.
Draws from the subject's course generator (``rng``) and, for the scenario and escalation
extras (early death, bleeding, the cycle-2 delay and GI_ONGOING DLTs), from ``aux``.
"""

from __future__ import annotations

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.assessment import ResponseTrack
from cfz_platform.simulate.course_state import CourseState, Cycle
from cfz_platform.simulate.safety import (
    BLEEDING,
    DELAY_TERMS,
    DLT_NONHEME,
    FATAL,
    GI_TERMS,
    HEME,
    NONHEME,
    AdverseEvent,
    draw_nonheme,
)
from cfz_platform.simulate.subject_sim import SubjectSim, grade_hgb, grade_neut, grade_plat
from cfz_platform.simulate.subjects import SubjectPlan

#: haematologic AEs from the counts sent: (AEDECOD, LB key, grader, lowest grade reported)
HEME_FROM_COUNTS = (
    ("Thrombocytopenia", "PLAT", grade_plat, 2),
    ("Neutropenia", "NEUT", grade_neut, 2),
    ("Anaemia", "HGB", grade_hgb, 3),
)
DLT_AE_KINDS = ("FN", "NONHEME", "DELAY", "GI_ONGOING")  # DLT kinds that are an AE of their own


def draw_early_death(aux: np.random.Generator, fd: int) -> tuple[int, AdverseEvent]:
    """Scenario early-death: (death day, fatal AE), before the first assessment (C1D8).

    Steps: death on study day 3-7 (first dose + 2..6); a grade-5 sepsis starting 0-1 days
    before it, UNLIKELY related, serious.
    """
    death = fd + int(aux.integers(2, 7))
    bodsys, term = FATAL["Sepsis"]
    ev = AdverseEvent(
        "Sepsis", term, bodsys, 5, death - int(aux.integers(0, 2)), death, "UNLIKELY", True
    )
    return death, ev


def draw_cycle_nonheme(
    rng: np.random.Generator, plan: SubjectPlan, cyc: Cycle, esc: bool
) -> list[AdverseEvent]:
    """The cycle's non-haematologic AEs.

    Steps: a Poisson number (mean 1.0 in cycle 1, 0.6 later) of catalogue AEs in the cycle
    (``safety.draw_nonheme``); in escalation cycle 1 their dates are protected from feed
    mess, and without a planned DLT a related grade >= 3 event (other than GI lasting <= 3
    days) becomes grade 2, so that it is no DLT the plan did not draw.
    """
    n_ae = int(rng.poisson(1.0 if cyc.number == 1 else 0.6))
    nh = draw_nonheme(rng, n_ae, cyc.start, P.CYCLE_DAYS)
    for e in nh:
        if cyc.number == 1 and esc:
            e.protect_dates = True
            if not plan.esc_dlt and e.grade >= 3 and e.related:
                short_gi = e.decod in GI_TERMS and e.end - e.start <= 3
                if not short_gi:
                    e.grade = 2
    return nh


def draw_dlt_ae(
    rng: np.random.Generator, aux: np.random.Generator, kind: str, cs: int
) -> AdverseEvent:
    """The cycle-1 DLT event of ``kind`` (one of ``DLT_AE_KINDS``), cycle starting on ``cs``.

    Steps: 1. onset: days 10-20 (FN) or 3-24 of the cycle; 2. the event: GI_ONGOING a grade 3
    nausea/vomiting/diarrhoea with no end (``aux``); FN grade 3 febrile neutropenia lasting
    3-8 days; NONHEME a grade 3 event of ``DLT_NONHEME`` lasting 5-19 days; DELAY draws that
    NONHEME event too (the generator's order) and replaces it with a grade 2 event of
    ``DELAY_TERMS`` from day 16 at the latest, lasting 21 days (``aux``); 3. dates protected
    from feed mess, action DRUG INTERRUPTED.
    """
    on = cs + int(rng.integers(9, 20)) if kind == "FN" else cs + int(rng.integers(2, 24))
    if kind == "GI_ONGOING":  # grade 3 nausea/vomiting/diarrhoea, not resolved at the cut
        dec = sorted(GI_TERMS)[int(aux.integers(0, len(GI_TERMS)))]
        bodsys, terms, _w = NONHEME[dec]
        ev = AdverseEvent(dec, terms[0], bodsys, 3, on, None, "PROBABLE", False, True)
    elif kind == "FN":
        bodsys, term = HEME["Febrile neutropenia"]
        ev = AdverseEvent(
            "Febrile neutropenia",
            term,
            bodsys,
            3,
            on,
            on + int(rng.integers(3, 9)),
            "POSSIBLE",
            True,
            True,
        )
    else:
        dec = DLT_NONHEME[int(rng.integers(0, len(DLT_NONHEME)))]
        bodsys, terms, _w = NONHEME[dec]
        ev = AdverseEvent(
            dec,
            terms[0],
            bodsys,
            3,
            on,
            on + int(rng.integers(5, 20)),
            "PROBABLE",
            bool(rng.random() < 0.6),
            True,
        )
        if kind == "DELAY":  # grade 2: a DLT only because it delays cycle 2 by > 14 days
            dec = DELAY_TERMS[int(aux.integers(0, len(DELAY_TERMS)))]
            bodsys, terms, _w = NONHEME[dec]
            start = min(on, cs + 15)
            ev = AdverseEvent(dec, terms[0], bodsys, 2, start, start + 21, "PROBABLE", False, True)
    ev.protect_dates = True
    ev.acn = "DRUG INTERRUPTED"
    return ev


def draw_bleeding(aux: np.random.Generator, onset: int, end: int) -> AdverseEvent:
    """A grade 1-2 bleeding AE beside grade >= 3 thrombocytopenia (``onset`` .. ``end``).

    Steps: term from ``BLEEDING``; start 0-2 days after the thrombocytopenia's onset; grade
    1-2; 1-5 days long, not past the thrombocytopenia's end; UNLIKELY or POSSIBLE related.
    """
    bdec = tuple(BLEEDING)[int(aux.integers(0, len(BLEEDING)))]
    b_on = onset + int(aux.integers(0, 3))
    return AdverseEvent(
        bdec,
        BLEEDING[bdec][1],
        BLEEDING[bdec][0],
        int(aux.integers(1, 3)),
        b_on,
        min(b_on + int(aux.integers(1, 6)), end),
        ("UNLIKELY", "POSSIBLE")[int(aux.integers(0, 2))],
    )


def draw_heme_aes(
    rng: np.random.Generator, aux: np.random.Generator, cyc: Cycle, esc: bool
) -> None:
    """Haematologic AEs from the counts sent in the cycle, appended to ``cyc.events``.

    Steps, per ``HEME_FROM_COUNTS`` parameter reaching its lowest reported grade: 1. onset on
    the first such count, grade the worst, end 4-8 days after the last; 2. the cycle-1 DLT
    kinds NEUT4 (neutropenia lasting 9-13 days) and PLAT4 / PLAT3BLEED (thrombocytopenia)
    make this event the DLT (``cyc.dlt_ev``); 3. with grade >= 3 thrombocytopenia, a
    bleeding AE (``draw_bleeding``): the planned PLAT3BLEED DLT, or 30% of the time outside
    escalation cycle 1 (where it would be a DLT the plan did not draw).
    """
    c, kind = cyc.number, cyc.dlt_kind
    protect = c == 1 and esc
    for decod, key, grader, min_g in HEME_FROM_COUNTS:
        days_g = [(d, grader(v[key])) for d, v in sorted(cyc.sent_counts.items())]
        hit = [(d, g) for d, g in days_g if g >= min_g]
        if not hit:
            continue
        onset = hit[0][0]
        grade = max(g for _, g in hit)
        end = hit[-1][0] + int(rng.integers(4, 9))
        is_dlt = False
        if c == 1 and kind == "NEUT4" and decod == "Neutropenia":
            end = onset + int(rng.integers(9, 14))
            is_dlt = True
        if c == 1 and kind in ("PLAT4", "PLAT3BLEED") and decod == "Thrombocytopenia":
            is_dlt = True
        bodsys, term = HEME[decod]
        ev = AdverseEvent(decod, term, bodsys, grade, onset, end, "PROBABLE", False, is_dlt)
        ev.protect_dates = protect
        if is_dlt:
            cyc.dlt_ev = ev
        cyc.events.append(ev)
        if (
            decod == "Thrombocytopenia"
            and grade >= 3
            and ((c == 1 and kind == "PLAT3BLEED") or (not protect and aux.random() < 0.3))
        ):
            bleed = draw_bleeding(aux, onset, end)
            bleed.protect_dates = protect
            cyc.events.append(bleed)


def draw_non_pd_death(rng: np.random.Generator, cs: int) -> tuple[int, AdverseEvent] | None:
    """A death not from PD in the cycle starting on ``cs`` (0.6%): (death day, fatal AE).

    Steps: 1. 0.6% chance; 2. death on a day of the cycle; 3. a grade-5 sepsis or cardiac
    failure starting 0-5 days before it, NOT RELATED / UNLIKELY / POSSIBLE, serious.
    """
    if rng.random() >= 0.006:
        return None
    death = cs + int(rng.integers(0, P.CYCLE_DAYS))
    cause = ("Sepsis", "Cardiac failure")[int(rng.integers(0, 2))]
    bodsys, term = FATAL[cause]
    ev = AdverseEvent(
        cause,
        term,
        bodsys,
        5,
        death - int(rng.integers(0, 6)),
        death,
        ("NOT RELATED", "UNLIKELY", "POSSIBLE")[int(rng.integers(0, 3))],
        True,
    )
    return death, ev


def simulate_cycle_aes(
    sim: SubjectSim,
    plan: SubjectPlan,
    track: ResponseTrack,
    course: CourseState,
    cyc: Cycle,
    aux: np.random.Generator,
) -> None:
    """The AEs of cycle ``cyc`` (after its count visits), added to ``sim.events``.

    Steps:
    1. non-haematologic AEs (``draw_cycle_nonheme``);
    2. the cycle-1 DLT event of kinds FN, NONHEME, DELAY, GI_ONGOING (``draw_dlt_ae``); a
       DELAY DLT becomes NONHEME when PD is pending or confirmed (cycle 2 may not be given);
    3. haematologic AEs from the counts sent, with bleeding (``draw_heme_aes``);
    4. the DLT event flagged (AEDLT, DRUG INTERRUPTED);
    5. after an early death nothing starts after it; from cycle 2 a non-PD death now and
       then (``draw_non_pd_death``: ``course.death``, cause, and no dose from the day before).
    """
    rng = sim.rng
    cyc.events += draw_cycle_nonheme(rng, plan, cyc, course.esc)
    if cyc.dlt_kind == "DELAY" and (track.pending_pd or track.stop):
        cyc.dlt_kind = "NONHEME"  # cycle 2 may not be given: make the DLT a grade 3 event instead
    if cyc.dlt_kind in DLT_AE_KINDS:
        cyc.dlt_ev = draw_dlt_ae(rng, aux, cyc.dlt_kind, cyc.start)
        cyc.events.append(cyc.dlt_ev)
    draw_heme_aes(rng, aux, cyc, course.esc)
    if cyc.dlt_ev is not None:
        cyc.dlt_ev.dlt = True
        cyc.dlt_ev.acn = "DRUG INTERRUPTED"
    if course.death is not None:  # early death: nothing starts after it
        cyc.events = [e for e in cyc.events if e.start <= course.death]
    if cyc.number >= 2 and course.death is None:
        drawn = draw_non_pd_death(rng, cyc.start)
        if drawn is not None:
            course.death, ev = drawn
            cyc.events.append(ev)
            course.death_cause = "ADVERSE EVENT"
            cyc.stop_day = min(cyc.stop_day, course.death - 1)
    sim.events += cyc.events
