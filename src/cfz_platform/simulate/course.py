"""One subject's course on study: labs, assessments, dosing, AEs, RS, VS, deaths.

``simulate_subject`` strings the phases of the course together; each phase is a function of
its own module, over the subject's state passed explicitly: ``SubjectSim`` (subject_sim:
traits, latent kinetics, records, AEs, row emitters), ``ResponseTrack`` (assessment: the
IMWG assessor, pending and confirmed PD, ECOG) and ``CourseState`` (course_state: dose,
cycle, stop reason, death, new therapy; ``Cycle`` for one combination cycle).

Steps of ``simulate_subject`` (enrolled subject):
1. baseline traits (disease type, M-protein, FLC, beta2M, albumin, ECOG, counts, marrow) and
   latent kinetics (``SubjectSim``, ``kinetics.draw_kinetics``);
2. prior therapy (CM, RS PRIOR THERAPY) and the screening visit (full panel, marrow,
   skeletal survey, ECOG, vitals) (``simulate_screening``), then the C1D1 pre-dose visit,
   the baseline (``simulate_baseline_visit``);
3. up to 8 combination cycles of 28 days (combination.simulate_combination, one cycle in
   ``simulate_cycle``): day-1 visit (myeloma panel from C2, assessment, investigator
   response, ECOG, vitals) and cycle-1 day 8/15 panels for early kinetics, CBC on days 8 and
   15 (platelet nadir days 8-15) (cycle_visits); AEs (haematologic ones from the counts,
   with a bleeding AE now and then beside grade >= 3 thrombocytopenia) and the cycle-1 DLT
   of the escalation plan (its kind: grade 4 / grade 3 + bleeding thrombocytopenia, grade 4
   neutropenia > 7 days, febrile neutropenia, grade 3 non-haematologic, or a grade 2
   toxicity that interrupts cycle 1 and delays cycle 2 by 15-21 days) (cycle_aes);
   carfilzomib on days 1, 2, 8, 9, 15, 16 and the regimen's partner drugs
   (``simulate_cycle_dosing``, dosing);
4. the stop decision after each cycle (``simulate_stop_decision``): confirmed PD (2
   consecutive M-protein PDs, or imaging), death, toxicity or cutoff; else the
   holds/reductions/delays of the next cycle;
5. final assessment 28 days after the last combination cycle ends (EOT,
   end_of_treatment), then maintenance (single-agent carfilzomib at the last dose, cycles
   numbered on: VISIT C9D1, ...) for those without PD, until PD/death/cutoff (maintenance);
6. deaths: from PD after confirmed PD (AE "Disease progression", grade 5) or from an AE;
   some subjects start a new anti-myeloma regimen (CM, CMCAT SUBSEQUENT MYELOMA THERAPY)
   after PD or after stopping for toxicity (then before their final assessment)
   (followup.simulate_follow_up); then the AE and DM rows;
7. the truth row (subject_truth): IMWG best response by the simulator's own rules (no
   confirmation across new therapy), the early labels, TTP (censored before new therapy)
   and maintenance PFS, DLT-evaluability from the cycle-1 doses actually given, and the
   Monte-Carlo response probabilities.
Missing visits (feed mess) are decided at each visit with a separate generator
(``SubjectSim._skip_visit``) and treated as visits that were not done, so the truth
reflects them. The order of the draws from each generator (the course's ``rng``, the feed
mess's, and ``aux`` for the scenario and escalation extras) is part of the output: the same
seed gives the same files.

Scenarios (``plan.scenario``, simulate/scenarios.py) hook in where they happen: high-nadir
kinetics in the traits; partial prior-therapy dates in ``build_prior_therapy``; a cycle-1
death before C1D8 (``simulate_cycle``); consent withdrawn before a day-1 visit
(``simulate_combination``); new therapy started on a day-1 assessment (``simulate_cycle``)
or on the PD-confirming assessment (``draw_new_therapy_start``); carfilzomib held on C1D1
(``dose_cycle``); an ongoing AE (``ongoing_ae``) and a month-only AE start
(``mark_partial_start``) before the AE rows are written; the escalation DLT kind GI_ONGOING
(grade-3 GI event with no end date, ``draw_dlt_ae``).
"""

from __future__ import annotations

import numpy as np

from cfz_platform.simulate.assessment import ResponseTrack
from cfz_platform.simulate.combination import simulate_combination
from cfz_platform.simulate.course_state import Baseline, draw_course_state
from cfz_platform.simulate.end_of_treatment import simulate_final_assessment
from cfz_platform.simulate.followup import simulate_follow_up
from cfz_platform.simulate.maintenance import simulate_maintenance
from cfz_platform.simulate.prior_therapy import PriorSummary, build_prior_therapy
from cfz_platform.simulate.response import ImwgAssessor
from cfz_platform.simulate.safety import ae_records
from cfz_platform.simulate.subject_sim import Missing, SubjectResult, SubjectSim
from cfz_platform.simulate.subject_truth import CourseOutcome, compute_enrolled_truth, truth_base
from cfz_platform.simulate.subjects import SubjectPlan

#: The generator stream of the AE drawn for a stop for toxicity without one (withdrawal).
WITHDRAWAL_STREAM = 27

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
    """Simulate one enrolled subject; the steps are the module docstring's."""
    sim = SubjectSim(plan, cutoff, rng, mess_rng, miss_rate)  # 1. traits and kinetics
    fd = plan.first_dose
    assert fd is not None
    # the scenarios' and escalation extras' generator (bleeding, cycle-2 delay, new therapy)
    aux = np.random.default_rng([seed, 9, *plan.rng_key])
    prior = simulate_screening(sim, plan, fd)  # 2.
    baseline = simulate_baseline_visit(sim, fd)
    track = ResponseTrack(ImwgAssessor(baseline.panel, sim.bmpc_base), fd, sim.ecog)
    course = draw_course_state(plan, cutoff, rng, aux)
    course.withdrawal_rng = np.random.default_rng([seed, WITHDRAWAL_STREAM, *plan.rng_key])
    simulate_combination(sim, plan, track, course, aux)  # 3. and 4.
    simulate_final_assessment(sim, track, course)  # 5.
    if course.maint_start is not None and course.maint_start <= cutoff:
        simulate_maintenance(sim, plan, track, course)
    simulate_follow_up(sim, plan, track, course, aux)  # 6.
    sim.records += ae_records(plan.usubjid, sim.events, cutoff, rng)
    sim.dm(fd + int(rng.integers(1, 6)), course.death)
    outcome = CourseOutcome(plan, sim, prior, track.assessor, baseline, course, seed, mc_replicas)
    return SubjectResult(sim.records, compute_enrolled_truth(outcome), sim.missing)  # 7.


def simulate_screening(sim: SubjectSim, plan: SubjectPlan, fd: int) -> PriorSummary:
    """Prior therapy and the screening visit of an enrolled subject; return the prior summary.

    Steps: 1. prior regimens (CM, RS PRIOR THERAPY; ``build_prior_therapy``; 3-10 days of
    availability lag; scenarios partial-dates and partial-bortezomib: partial dates); 2. screening 3-7 days before the
    first dose (``SubjectSim.screening``: full panel, marrow, skeletal survey, ECOG, vitals).
    """
    rng = sim.rng
    prior = build_prior_therapy(
        rng,
        plan.usubjid,
        plan.consent,
        plan.partners,
        plan.fails,
        int(rng.integers(3, 11)),
        sim.records,
        partial=plan.scenario == "partial-dates",
        partial_btz=plan.scenario == "partial-bortezomib",
    )
    sim.screening(fd - int(rng.integers(3, 8)))
    return prior


def simulate_baseline_visit(sim: SubjectSim, fd: int) -> Baseline:
    """The C1D1 visit before the first dose: the baseline of response and ISS.

    Steps: 1. full labs and vitals (``SubjectSim.full_visit``, t = 0); 2. ECOG (RS, epoch
    TREATMENT); 3. the baseline: the panel, beta2M and albumin as sent.
    """
    panel, b2m, _lag = sim.full_visit(fd, "C1D1", 0.0)
    alb = next(
        float(r.meta[1])
        for r in reversed(sim.records)
        if r.domain == "lb" and r.meta and r.meta[0] == "ALB"
    )
    sim.rs("ECOG", str(sim.ecog), fd, "C1D1", "TREATMENT", sim._lag(3, 11))
    return Baseline(panel, b2m, alb)
