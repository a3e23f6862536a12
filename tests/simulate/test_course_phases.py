"""Phases of one subject's course, hand-worked: the final assessment day, the stop decision
after a combination cycle (and the AE a stop for toxicity records), and the start of new
anti-myeloma therapy (simulate/course.py's steps 4-6, each a function of its own since the
split of ``simulate_subject``)."""

from __future__ import annotations

import numpy as np

from cfz_platform.simulate.assessment import ResponseTrack
from cfz_platform.simulate.combination import simulate_stop_decision
from cfz_platform.simulate.course_state import CourseState, Cycle
from cfz_platform.simulate.end_of_treatment import compute_eot_day
from cfz_platform.simulate.followup import draw_new_therapy_start
from cfz_platform.simulate.response import ImwgAssessor, Panel
from cfz_platform.simulate.safety import NONHEME, AdverseEvent
from cfz_platform.simulate.withdrawal import WITHDRAWAL_TERMS, mark_withdrawal

FD = 739_000  # an ordinal first dose


def course(**kw) -> CourseState:
    base = dict(
        fd=FD,
        cutoff=FD + 400,
        dose=36.0,
        esc=False,
        dlt_event=False,
        stop_cycle=0,
        cs=FD,
        withdrawal_rng=np.random.default_rng(3),
    )
    return CourseState(**{**base, **kw})


def track(pd_confirm: int | None = None) -> ResponseTrack:
    t = ResponseTrack(ImwgAssessor(Panel(serum=3.0, urine=0.0)), FD, 1)
    if pd_confirm is not None:
        t.stop, t.pd_confirm = "PD", pd_confirm
    return t


def fatigue(day: int, grade: int = 3) -> AdverseEvent:
    bodsys, terms, _w = NONHEME["Fatigue"]
    return AdverseEvent("Fatigue", terms[0], bodsys, grade, day, day + 6, "PROBABLE")


def test_final_assessment_is_28_days_after_the_last_cycle_ends():
    c8 = FD + 7 * 28  # day 1 of cycle 8, no delays: the cycle ends on day 28 (c8 + 27)
    assert compute_eot_day(course(cs=c8, stop_reason="COMPLETED")) == c8 + 27 + 28
    # stopped for toxicity: 28 days after the last dose, else after that cycle's day 1
    assert compute_eot_day(course(cs=c8, stop_reason="TOX", last_dose_day=c8 + 8)) == c8 + 36
    assert compute_eot_day(course(cs=FD, stop_reason="TOX")) == FD + 28
    for reason in ("PD", "DEATH", "CUTOFF", "WITHDRAWN", "NEW THERAPY"):
        assert compute_eot_day(course(cs=c8, stop_reason=reason)) is None


def test_stop_decision_after_a_cycle():
    rng, aux = np.random.default_rng(1), np.random.default_rng(2)
    c3 = FD + 2 * 28
    # death and confirmed PD stop before any dose change
    dead = course(cs=c3, death=c3 + 10)
    assert simulate_stop_decision(rng, aux, track(), dead, Cycle(3, c3, 0.0, c3 + 9), [], [])
    assert (dead.stop_reason, dead.dose) == ("DEATH", 36.0)
    progressed = course(cs=c3)
    assert simulate_stop_decision(rng, aux, track(c3), progressed, Cycle(3, c3, 0.0, c3), [], [])
    assert progressed.stop_reason == "PD"
    # the next cycle would start after the cutoff
    late = course(cs=c3, cutoff=c3 + 27)
    assert simulate_stop_decision(rng, aux, track(), late, Cycle(3, c3, 0.0, c3 + 27), [], [])
    assert late.stop_reason == "CUTOFF"
    # a third dose reduction stops for toxicity, the dose stays
    third = course(cs=c3, reductions=2, dose=20.0)
    held = [fatigue(c3 + 3)]
    events = list(held)
    assert simulate_stop_decision(
        rng, aux, track(), third, Cycle(3, c3, 0.0, FD + 400), held, events
    )
    assert (third.stop_reason, third.dose, third.reductions) == ("TOX", 20.0, 3)
    # ... and the AE that held dosing is the one that withdrew the drug
    assert (held[0].acn, third.withdrawal_ae_day, len(events)) == ("DRUG WITHDRAWN", c3 + 3, 1)
    # the first reduction: one dose level down and the next cycle 7-14 days late
    seen = set()
    for seed in range(40):
        first = course(cs=c3)
        rng = np.random.default_rng(seed)
        stopped = simulate_stop_decision(
            rng, aux, track(), first, Cycle(3, c3, 0.0, FD + 400), held, list(held)
        )
        assert first.dose == 27.0 and first.reductions == 1
        if not stopped:
            assert 7 <= first.delay <= 14
            seen.add(first.delay)
    assert len(seen) > 3
    # the cycle-1 DELAY DLT: cycle 2 starts 15-21 days late, whatever else was drawn
    for seed in range(40):
        c1 = course()
        cyc = Cycle(1, FD, 0.0, FD + 400, dlt_kind="DELAY")
        rng, aux = np.random.default_rng(seed), np.random.default_rng(seed + 100)
        assert not simulate_stop_decision(rng, aux, track(), c1, cyc, held, list(held))
        assert 15 <= c1.delay <= 21


def test_a_stop_for_toxicity_records_the_ae_that_caused_it():
    """DS will say ADVERSE EVENT: the AE behind it gets AEACN DRUG WITHDRAWN. Among the cycle's
    AEs the worst grade >= 2 (then the earliest) is chosen; a cycle with none gets a grade 2
    related one between its day 1 and its last dose, added to the subject's AEs."""
    c3 = FD + 2 * 28
    mild, worse, early = fatigue(c3 + 2, grade=1), fatigue(c3 + 9), fatigue(c3 + 5, grade=2)
    cyc = Cycle(3, c3, 0.0, FD + 400, events=[mild, worse, early])
    stopped = course(cs=c3, last_dose_day=c3 + 15)
    events = list(cyc.events)
    assert mark_withdrawal(stopped, cyc, [], events) is worse
    assert [worse.acn, mild.acn, early.acn] == ["DRUG WITHDRAWN"] + ["DOSE NOT CHANGED"] * 2
    assert stopped.withdrawal_ae_day == c3 + 9 and len(events) == 3
    onsets = set()
    for seed in range(30):
        empty = Cycle(3, c3, 0.0, FD + 400, events=[fatigue(c3 + 1, grade=1)])
        c = course(cs=c3, last_dose_day=c3 + 8, withdrawal_rng=np.random.default_rng(seed))
        events = list(empty.events)
        drawn = mark_withdrawal(c, empty, [], events)
        assert drawn in events and drawn in empty.events and len(events) == 2
        assert (drawn.grade, drawn.acn, drawn.related) == (2, "DRUG WITHDRAWN", True)
        assert drawn.decod in WITHDRAWAL_TERMS and c3 <= drawn.start <= c3 + 8
        assert c.withdrawal_ae_day == drawn.start and drawn.end is not None
        onsets.add(drawn.start)
    assert len(onsets) > 3


def test_new_therapy_starts_after_pd_never_after_death_or_the_cutoff():
    pd_day = FD + 150
    starts = []
    for seed in range(60):
        aux = np.random.default_rng(seed)
        start = draw_new_therapy_start(aux, track(pd_day), course(stop_reason="PD"), False)
        if start is not None:
            assert pd_day + 14 <= start <= pd_day + 42
            starts.append(start)
        dead = course(stop_reason="PD", death=pd_day + 20)
        start = draw_new_therapy_start(np.random.default_rng(seed), track(pd_day), dead, False)
        assert start is None or start < pd_day + 20
        cut = course(stop_reason="PD", cutoff=pd_day + 13)
        assert (
            draw_new_therapy_start(np.random.default_rng(seed), track(pd_day), cut, False) is None
        )
    assert 0.4 < len(starts) / 60 < 0.8  # 60% of subjects with PD
    # scenario new-therapy-on-assessment: on the PD-confirming assessment, or on the day-1
    # visit the combination stopped on
    aux = np.random.default_rng(0)
    assert draw_new_therapy_start(aux, track(pd_day), course(stop_reason="PD"), True) == pd_day
    on_day1 = course(stop_reason="NEW THERAPY", new_therapy=FD + 84)
    assert draw_new_therapy_start(aux, track(), on_day1, False) == FD + 84
    # stopped for toxicity: before the final assessment (10-26 days after the last dose)
    for seed in range(30):
        tox = course(stop_reason="TOX", cs=FD + 28, last_dose_day=FD + 36)
        start = draw_new_therapy_start(np.random.default_rng(seed), track(), tox, False)
        assert start is None or FD + 46 <= start <= FD + 62 < compute_eot_day(tox)
