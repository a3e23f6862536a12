"""One subject's course on study: labs, assessments, dosing, AEs, RS, VS, deaths.

The phases live in small modules: ``subject_sim`` (state, traits and row emitters),
``dosing`` (EX rows of a cycle), ``maintenance`` (single-agent phase), ``followup`` (new
therapy, ongoing AEs) and ``subject_truth`` (the truth row); this module runs screening and
the combination cycles and strings the phases together.

Steps of ``simulate_subject`` (enrolled subject):
1. baseline traits (disease type, M-protein, FLC, beta2M, albumin, ECOG, counts, marrow) and
   latent kinetics (``kinetics.draw_kinetics``);
2. prior therapy (CM, RS PRIOR THERAPY) and the screening visit (full panel, marrow,
   skeletal survey, ECOG, vitals);
3. up to 8 combination cycles of 28 days: day-1 visit (myeloma panel from C2, assessment,
   investigator response, ECOG, vitals), cycle-1 day 8/15 panels for early kinetics, CBC on
   days 8 and 15 (platelet nadir days 8-15), AEs (haematologic ones from the counts, with a
   bleeding AE now and then beside grade >= 3 thrombocytopenia), the cycle-1 DLT of the
   escalation plan (its kind: grade 4 / grade 3 + bleeding thrombocytopenia, grade 4
   neutropenia > 7 days, febrile neutropenia, grade 3 non-haematologic, or a grade 2
   toxicity that interrupts cycle 1 and delays cycle 2 by 15-21 days), holds/reductions/
   delays, carfilzomib on days 1, 2, 8, 9, 15, 16 and the regimen's partner drugs;
4. stop at confirmed PD (2 consecutive M-protein PDs, or imaging), death, toxicity or cutoff;
5. final assessment 28 days after the last combination cycle ends (EOT), then maintenance
   (single-agent carfilzomib at the last dose, cycles numbered on: VISIT C9D1, ...) for those
   without PD, until PD/death/cutoff;
6. deaths: from PD after confirmed PD (AE "Disease progression", grade 5) or from an AE;
   some subjects start a new anti-myeloma regimen (CM, CMCAT SUBSEQUENT MYELOMA THERAPY)
   after PD or after stopping for toxicity (then before their final assessment);
7. the truth row: IMWG best response by the simulator's own rules (no confirmation across
   new therapy), the early labels, TTP (censored before new therapy) and maintenance PFS,
   DLT-evaluability from the cycle-1 doses actually given, and the Monte-Carlo response
   probabilities.
Missing visits (feed mess) are decided here with a separate generator and treated as visits
that were not done, so the truth reflects them.

Scenarios (``plan.scenario``, simulate/scenarios.py) hook in where they happen: high-nadir
kinetics in the traits; partial prior-therapy dates in ``build_prior_therapy``; a cycle-1
death before C1D8; consent withdrawn before a day-1 visit; new therapy started on a day-1
assessment (or on the PD-confirming assessment); carfilzomib held on C1D1 in ``_dose_cycle``;
an ongoing AE (``_ongoing_ae``) and a month-only AE start before the AE rows are written;
the escalation DLT kind GI_ONGOING (grade-3 GI event with no end date).
"""

from __future__ import annotations

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.assessment import ResponseTrack, simulate_assessment
from cfz_platform.simulate.combination import simulate_combination
from cfz_platform.simulate.course_state import draw_course_state
from cfz_platform.simulate.followup import new_therapy_records, ongoing_ae
from cfz_platform.simulate.maintenance import simulate_maintenance
from cfz_platform.simulate.prior_therapy import build_prior_therapy
from cfz_platform.simulate.response import ImwgAssessor
from cfz_platform.simulate.safety import (
    FATAL,
    NONHEME,
    AdverseEvent,
    ae_records,
)
from cfz_platform.simulate.subject_sim import (
    Missing,
    SubjectResult,
    SubjectSim,
    noise,
)
from cfz_platform.simulate.subject_truth import CourseOutcome, compute_enrolled_truth, truth_base
from cfz_platform.simulate.subjects import SubjectPlan

__all__ = ["Missing", "SubjectResult", "simulate_screen_failure", "simulate_subject"]


def simulate_screen_failure(
    plan: SubjectPlan, cutoff: int, rng: np.random.Generator, mess_rng: np.random.Generator
) -> SubjectResult:
    """A screen failure: DM (SCRNFAIL), prior therapy breaking its criteria, screening data."""
    sim = SubjectSim(plan, cutoff, rng, mess_rng, 0.0)
    scr = plan.consent + int(rng.integers(1, 5))
    prior = build_prior_therapy(
        rng,
        plan.usubjid,
        plan.consent,
        plan.partners,
        plan.fails,
        int(rng.integers(3, 11)),
        sim.records,
    )
    sim.screening(scr)
    sim.dm(scr + int(rng.integers(5, 15)), None)
    truth = truth_base(sim, prior, sim.scr_panel, None)
    truth.update(
        is_screen_failure=True,
        failed_criteria=";".join(sorted(plan.fails)),
        saffl=False,
        respevalfl=False,
        dlt_evaluable=False,
        is_dlt=False,
    )
    return SubjectResult(sim.records, truth, sim.missing)


def simulate_subject(
    plan: SubjectPlan,
    cutoff: int,
    rng: np.random.Generator,
    mess_rng: np.random.Generator,
    miss_rate: float,
    mc_replicas: int,
    seed: int = 0,
) -> SubjectResult:
    """Simulate one enrolled subject (see the module docstring for the steps)."""
    sim = SubjectSim(plan, cutoff, rng, mess_rng, miss_rate)
    fd = plan.first_dose
    assert fd is not None
    aux = np.random.default_rng([seed, 9, *plan.rng_key])  # bleeding, cycle-2 delay, new therapy
    scenario = plan.scenario
    prior = build_prior_therapy(
        rng,
        plan.usubjid,
        plan.consent,
        plan.partners,
        plan.fails,
        int(rng.integers(3, 11)),
        sim.records,
        partial=scenario == "partial-dates",
    )
    scr = fd - int(rng.integers(3, 8))
    sim.screening(scr)
    # baseline (C1D1, pre-dose)
    lag = sim._lag()
    base = sim.resp_panel(fd, 0.0, "C1D1", lag)
    sim.cbc(
        fd,
        "C1D1",
        lag,
        sim.plat0 * noise(rng),
        sim.neut0 * noise(rng),
        sim.hgb0 * noise(rng),
        sim.lym0 * noise(rng),
    )
    sim.chem(fd, "C1D1", lag, 0.0)
    b2m_base = sim.igs(fd, "C1D1", lag, 0.0)
    alb_base = next(
        float(r.meta[1])
        for r in reversed(sim.records)
        if r.domain == "lb" and r.meta and r.meta[0] == "ALB"
    )
    sim.vs(fd, "C1D1", sim._lag(1, 8))
    sim.rs("ECOG", str(sim.ecog), fd, "C1D1", "TREATMENT", sim._lag(3, 11))
    assessor = ImwgAssessor(base, sim.bmpc_base)
    track = ResponseTrack(assessor, fd, sim.ecog)

    course = draw_course_state(plan, cutoff, rng, aux)
    simulate_combination(sim, plan, track, course, aux)
    cs, dose, esc = course.cs, course.dose, course.esc
    last_dose_day, death, death_cause = course.last_dose_day, course.death, course.death_cause
    stop_reason, cycles_done, new_therapy = (
        course.stop_reason,
        course.cycles_done,
        course.new_therapy,
    )
    c2_start, c4_start, dlt_event = course.c2_start, course.c4_start, course.dlt_event
    # ---- final assessment (EOT)
    maint_start: int | None = None
    eot_day = None
    if stop_reason in ("COMPLETED", "TOX"):
        eot_day = (
            (cs + P.CYCLE_DAYS + 27) if stop_reason == "COMPLETED" else ((last_dose_day or cs) + 28)
        )
        if eot_day <= cutoff:
            lag = sim._lag()
            pan = sim.resp_panel(eot_day, eot_day - fd, "EOT", lag)
            sim.cbc(
                eot_day,
                "EOT",
                lag,
                sim.plat0 * noise(rng),
                sim.neut0 * noise(rng),
                sim.hgb0 * noise(rng),
                sim.lym0 * noise(rng),
            )
            sim.chem(eot_day, "EOT", lag, eot_day - fd)
            sim.igs(eot_day, "EOT", lag, eot_day - fd)
            sim.vs(eot_day, "EOT", sim._lag(1, 8))
            simulate_assessment(sim, track, eot_day, "EOT", pan, "FOLLOW-UP", True, True, lag)
            last_cat = assessor.history[-1].category
            if track.stop:
                stop_reason = "PD"
            elif (
                stop_reason == "COMPLETED" and last_cat not in ("PD", "NE") and rng.random() < 0.85
            ):
                maint_start = eot_day + int(rng.integers(1, 8))
    # ---- maintenance
    if maint_start is not None and maint_start <= cutoff:
        death, m_cause, m_last = simulate_maintenance(
            sim, plan, maint_start, cutoff, fd, dose, cycles_done, track, rng
        )
        death_cause = m_cause or death_cause
        last_dose_day = m_last if m_last is not None else last_dose_day
    nt_on_pd = scenario == "new-therapy-on-assessment" and stop_reason == "PD"
    # ---- death from PD
    if track.stop == "PD" and death is None and not nt_on_pd and rng.random() < 0.35:
        dday = track.pd_confirm + int(rng.integers(15, 200))
        if dday <= cutoff:
            death, death_cause = dday, "PROGRESSIVE DISEASE"
            bodsys, term = FATAL["Disease progression"]
            sim.events.append(
                AdverseEvent(
                    "Disease progression", term, bodsys, 5, dday, dday, "NOT RELATED", True
                )
            )
    # ---- new anti-myeloma therapy after PD or after stopping for toxicity (off study); scenario
    # new-therapy-on-assessment: on the day of the PD-confirming assessment (or a day-1 visit)
    if nt_on_pd:
        new_therapy = track.pd_confirm
    elif new_therapy is not None:
        pass
    elif stop_reason == "PD" and track.pd_confirm is not None and aux.random() < 0.6:
        new_therapy = track.pd_confirm + int(aux.integers(14, 43))
    elif stop_reason == "TOX" and aux.random() < 0.6:
        new_therapy = (last_dose_day or cs) + int(
            aux.integers(10, 27)
        )  # before the final assessment
    if new_therapy is not None and (
        new_therapy > cutoff or (death is not None and new_therapy >= death)
    ):
        new_therapy = None
    if new_therapy is not None:
        new_therapy_records(sim, new_therapy, aux)
    if scenario == "ae-ongoing":
        ongoing_ae(sim, fd, death, aux)
    if scenario == "partial-dates":
        later = [e for e in sim.events if e.start > fd + 27 and e.grade <= 2 and e.decod in NONHEME]
        if later:
            later[int(aux.integers(0, len(later)))].partial_start = True
    sim.records += ae_records(plan.usubjid, sim.events, cutoff, rng)
    sim.dm(fd + int(rng.integers(1, 6)), death)
    outcome = CourseOutcome(
        plan,
        sim,
        prior,
        assessor,
        base,
        b2m_base,
        alb_base,
        fd,
        cutoff,
        esc,
        c2_start,
        c4_start,
        new_therapy,
        death,
        death_cause,
        maint_start,
        last_dose_day,
        stop_reason,
        cycles_done,
        bool(dlt_event),
        seed,
        mc_replicas,
    )
    return SubjectResult(sim.records, compute_enrolled_truth(outcome), sim.missing)
