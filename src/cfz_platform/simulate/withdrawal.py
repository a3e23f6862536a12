"""The adverse event that ends a subject's treatment (DS END OF TREATMENT, ADVERSE EVENT).

A combination stopped for toxicity (``course.stop_reason`` TOX) ends treatment in DS with the
reason ADVERSE EVENT (``disposition.EOT_REASONS``); the AE that caused it is recorded with
AEACN "DRUG WITHDRAWN", and the DS record is dated on or after its onset
(``course.withdrawal_ae_day``; ``disposition.build_disposition``).

Steps of ``mark_withdrawal``:
1. the candidates: the cycle's AEs that held dosing (a third dose reduction stops
   treatment), else the cycle's other non-fatal AEs of grade >= 2 (a tolerability stop);
2. the one chosen: the highest grade, then the earliest onset, then the term;
3. a tolerability stop whose cycle has no such AE gets one (``draw_withdrawal_ae``, from
   ``course.withdrawal_rng``, a generator of its own): a grade 2 related non-haematologic AE
   (grade 2: never a DLT, so the 3+3 path is unchanged) with onset between the cycle's day 1
   and its last dose;
4. its action becomes DRUG WITHDRAWN and its onset ``course.withdrawal_ae_day``.
"""

from __future__ import annotations

import numpy as np

from cfz_platform.simulate.course_state import CourseState, Cycle
from cfz_platform.simulate.safety import NONHEME, AdverseEvent

#: AE.AEACN of the event that ended treatment.
DRUG_WITHDRAWN = "DRUG WITHDRAWN"
#: Tolerability problems that make a subject stop a proteasome-inhibitor regimen.
WITHDRAWAL_TERMS = ("Fatigue", "Peripheral sensory neuropathy", "Diarrhoea", "Dyspnoea")


def select_withdrawal_ae(
    holds: list[AdverseEvent], events: list[AdverseEvent]
) -> AdverseEvent | None:
    """The AE that ended treatment: among the AEs that held dosing (else the other non-fatal
    AEs of grade >= 2), the highest grade, then the earliest onset, then the term; None when
    there is none."""
    pool = holds or [e for e in events if 2 <= e.grade < 5]
    if not pool:
        return None
    return min(pool, key=lambda e: (-e.grade, e.start, e.decod))


def draw_withdrawal_ae(rng: np.random.Generator, cycle_start: int, last_dose: int) -> AdverseEvent:
    """A grade 2 related non-haematologic AE (``WITHDRAWAL_TERMS``) with onset between
    ``cycle_start`` and ``last_dose`` (the cycle's day 1 when no later dose), lasting 7-42
    days."""
    decod = WITHDRAWAL_TERMS[int(rng.integers(0, len(WITHDRAWAL_TERMS)))]
    bodsys, terms, _w = NONHEME[decod]
    onset = cycle_start + int(rng.integers(0, max(last_dose - cycle_start, 0) + 1))
    return AdverseEvent(
        decod, terms[0], bodsys, 2, onset, onset + int(rng.integers(7, 43)), "PROBABLE"
    )


def mark_withdrawal(
    course: CourseState,
    cyc: Cycle,
    holds: list[AdverseEvent],
    events: list[AdverseEvent],
) -> AdverseEvent:
    """Record the AE that ended treatment for toxicity (module steps); a drawn one joins the
    cycle's and the subject's ``events``; return it."""
    ev = select_withdrawal_ae(holds, cyc.events)
    if ev is None:
        last = course.last_dose_day if course.last_dose_day is not None else cyc.start
        assert course.withdrawal_rng is not None
        ev = draw_withdrawal_ae(course.withdrawal_rng, cyc.start, max(last, cyc.start))
        cyc.events.append(ev)
        events.append(ev)
    ev.acn = DRUG_WITHDRAWN
    course.withdrawal_ae_day = ev.start
    return ev
