"""The truth row of one subject, by domain.md's written rules, from what their course sent.

``compute_enrolled_truth`` steps: IMWG best response over the assessments (those on or after
new anti-myeloma therapy ignored), the early labels (response and confirmation dated by the
end of cycle 4), the Monte-Carlo response probabilities, E1-E7 and the populations, TTP, overall
PFS and OS, maintenance PFS (ADaM AVAL = ADT - STARTDT + 1; TTP's event is confirmed PD, else death from
PD before new therapy; censored at the last evaluable assessment before new therapy, else the
first dose; maintenance PFS from the first maintenance dose given), DLT by rule (escalation
cohort).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.course_state import Baseline, CourseState
from cfz_platform.simulate.kinetics import (
    Kinetics,
    compute_label_prob,
    compute_responder_prob,
    draw_kinetics,
)
from cfz_platform.simulate.prior_therapy import PriorSummary
from cfz_platform.simulate.records import iso
from cfz_platform.simulate.response import RANK, ImwgAssessor, Panel, compute_best_response
from cfz_platform.simulate.subject_sim import SubjectSim
from cfz_platform.simulate.subjects import SubjectPlan
from cfz_platform.simulate.truth_rules import CRITERIA, compute_dlt, compute_eligibility


@dataclass
class CourseOutcome:
    """What one enrolled subject's simulated course ended with (days are ordinals)."""

    plan: SubjectPlan
    sim: SubjectSim
    prior: PriorSummary
    assessor: ImwgAssessor
    baseline: Baseline
    course: CourseState
    seed: int
    mc_replicas: int


def truth_base(
    sim: SubjectSim, prior, baseline: Panel, on_study_partners: tuple[str, ...] | None
) -> dict:
    """Truth columns common to enrolled subjects and screen failures, with E1-E7 by rule
    (``truth_rules.compute_eligibility``) and the failed criteria they give."""
    p = sim.p
    elig = compute_eligibility(prior, baseline, on_study_partners)
    return {
        **{c.lower(): elig[c] for c in CRITERIA},
        "is_eligible": all(v == "met" for v in elig.values()),
        "criteria_not_met": ";".join(c for c in CRITERIA if elig[c] != "met"),
        "scenario": p.scenario,
        "usubjid": p.usubjid,
        "siteid": p.site,
        "armcd": p.armcd,
        "group": p.group,
        "imid_regimen": p.imid,
        "index_regimen": "+".join(("BORTEZOMIB",) + p.partners),
        "index_grpid": prior.index_grpid,
        "doselvl": f"{p.dose:g}" if p.dose else "",
        "cohort": p.cohort,
        "is_screen_failure": False,
        "failed_criteria": "",
        "disease_type": sim.dtype,
        "flc_chain": sim.chain,
        "m0": round(sim.m0, 4),
        "u0": round(sim.u0, 2),
        "flc_excess0": round(sim.exc0, 3),
        "f": round(sim.f, 6),
        "d": round(sim.d, 6),
        "g": round(sim.g, 6),
        "h": round(sim.h, 4),
        "responder": sim.responder,
    }


def compute_iss(b2m: float, alb: float) -> str:
    if b2m < 3.5 and alb >= 3.5:
        return "I"
    if b2m >= 5.5:
        return "III"
    return "II"


def compute_maintenance_pfs(
    fd: int,
    cutoff: int,
    first_maintenance_dose: int | None,
    pd_day: int | None,
    death_rel: int | None,
    last_assess: int,
) -> dict:
    """Maintenance PFS truth columns (domain.md 4: "from the first maintenance dose").

    Steps: 1. no maintenance dose given by the cutoff (e.g. a death on the planned first
    maintenance day, before its dose): no maintenance PFS (empty columns); 2. start = the first
    maintenance dose given; 3. event = the earlier of confirmed PD and death on or after the
    start; else censored at the last evaluable assessment (the start when earlier); 4. days =
    end - start + 1. ``pd_day``, ``death_rel`` and ``last_assess`` are days after ``fd``.
    """
    if first_maintenance_dose is None or first_maintenance_dose > cutoff:
        return {"maint_start_date": "", "mpfs_days": "", "mpfs_event": ""}
    ms_rel = first_maintenance_dose - fd
    cands = [x for x in (pd_day, death_rel) if x is not None and x >= ms_rel]
    if cands:
        end, ev = min(cands), 1
    else:
        end, ev = max(last_assess, ms_rel), 0
    return {
        "maint_start_date": iso(first_maintenance_dose),
        "mpfs_days": end - ms_rel + 1,
        "mpfs_event": ev,
    }


def compute_pfs_os(
    pd_day: int | None, death_rel: int | None, nt_rel: int | None, last_assess: int
) -> dict:
    """Overall PFS and OS truth columns (domain.md 4), days after the first dose ``fd``.

    Steps: 1. PFS: event = the earlier of confirmed PD and death from any cause dated before
    new anti-myeloma therapy; else censored as TTP (the last evaluable assessment before new
    therapy, else the first dose); 2. OS: event = death from any cause (new therapy does not
    censor OS); a censored OS has no truth day (the last date known alive depends on every
    record sent), so ``os_days`` is empty; 3. days = end + 1 (ADaM AVAL = ADT - STARTDT + 1).
    """
    death_counts = death_rel is not None and (nt_rel is None or death_rel < nt_rel)
    cands = [x for x in (pd_day, death_rel if death_counts else None) if x is not None]
    pfs_end, pfs_event = (min(cands), 1) if cands else (last_assess, 0)
    return {
        "pfs_days": pfs_end + 1,
        "pfs_event": pfs_event,
        "os_days": death_rel + 1 if death_rel is not None else "",
        "os_event": int(death_rel is not None),
    }


def compute_enrolled_truth(o: CourseOutcome) -> dict:
    """The truth row of an enrolled subject (steps in the module docstring)."""
    hist = o.assessor.history
    course = o.course
    end_c4 = (course.c4_start - course.fd + 27) if course.c4_start is not None else 111
    nt_rel = (course.new_therapy - course.fd) if course.new_therapy is not None else None
    full = compute_best_response(hist, new_therapy_day=nt_rel)
    early = compute_best_response(hist, until_day=end_c4, new_therapy_day=nt_rel)
    days = np.array([a.day for a in hist if a.day <= end_c4], dtype=float)
    mc_rng = np.random.default_rng([o.seed, 7, *o.plan.rng_key])
    prob_latent = compute_label_prob(
        mc_rng,
        Kinetics(
            *(
                np.repeat(np.atleast_1d(x), o.mc_replicas)
                for x in (o.sim.kin.responder, o.sim.kin.f, o.sim.kin.d, o.sim.kin.g, o.sim.kin.h)
            )
        ),
        o.sim.m0,
        o.sim.u0,
        o.sim.exc0,
        o.sim.unv0,
        days,
    )
    prob_cov = compute_label_prob(
        mc_rng,
        draw_kinetics(mc_rng, o.sim.cov, o.mc_replicas),
        o.sim.m0,
        o.sim.u0,
        o.sim.exc0,
        o.sim.unv0,
        days,
    )
    truth = truth_base(o.sim, o.prior, o.baseline.panel, tuple(sorted(o.sim.partners_given)))
    truth["failed_criteria"] = ";".join(sorted(o.plan.fails))
    # TTP censoring: the last evaluable (non-NE) assessment before new therapy; none: the first dose
    before_nt = [a for a in hist if (nt_rel is None or a.day < nt_rel) and a.category != "NE"]
    last_assess = before_nt[-1].day if before_nt else 0
    pd_day = (
        full.pd_day
        if (full.pd_day is not None and (nt_rel is None or full.pd_day < nt_rel))
        else None
    )
    death_rel = (course.death - course.fd) if course.death is not None else None
    # death from PD is a TTP event (domain.md 4) when no confirmed PD came first and it is
    # before new therapy (scenario investigator-flags: death from PD with no PD assessment)
    pd_death = (
        death_rel is not None
        and course.death_cause == "PROGRESSIVE DISEASE"
        and (nt_rel is None or death_rel < nt_rel)
    )
    ttp_event = pd_day is not None or pd_death
    ttp_date = course.fd + (
        pd_day if pd_day is not None else (death_rel if pd_death else last_assess)
    )
    maint = course.maint_first_dose
    mp = compute_maintenance_pfs(course.fd, course.cutoff, maint, pd_day, death_rel, last_assess)
    order = [a.category for a in hist]
    dlt = (
        compute_dlt(o.sim.events, course.fd, course.c2_start, course.cutoff) if course.esc else None
    )
    is_dlt = bool(dlt and dlt.is_dlt)
    pd_rule = next(
        (a.reason for a in hist if pd_day is not None and a.day == pd_day and a.category == "PD"),
        "",
    )
    saffl = o.sim.doses_given > 0
    truth.update(
        saffl=saffl,
        respevalfl=bool(truth["is_eligible"] and saffl and truth["e6"] == "met"),
        dlt_rules="; ".join(dlt.rules) if dlt else "",
        label_cutoff_date=iso(course.fd + end_c4),
        pd_rule=pd_rule,
        baseline_b2m=round(o.baseline.b2m, 4),
        baseline_albumin=round(o.baseline.alb, 3),
        baseline_iss=compute_iss(o.baseline.b2m, o.baseline.alb),
        baseline_serum_m=o.baseline.panel.serum,
        baseline_urine_m=o.baseline.panel.urine,
        ecog_baseline=o.sim.ecog,
        responder_prob=round(compute_responder_prob(o.sim.cov), 6),
        true_response_prob=round(prob_cov, 6),
        true_response_prob_latent=round(prob_latent, 6),
        early_label=int(RANK.get(early.best, -1) >= RANK["PR"]),
        early_label_mr=int(RANK.get(early.best, -1) >= RANK["MR"]),
        early_label_vgpr=int(RANK.get(early.best, -1) >= RANK["VGPR"]),
        true_best_response=full.best,
        best_unconfirmed_response=full.best_unconfirmed,
        n_assessments=len(hist),
        assessment_categories=" ".join(order),
        is_dlt=is_dlt,
        dlt_evaluable=bool(
            course.esc and (o.sim.cycle1_given == len(P.CARFILZOMIB_DAYS) or is_dlt)
        ),
        cycle1_doses_given=o.sim.cycle1_given,
        cycle1_dlt_event=bool(course.dlt_event),
        first_dose_date=iso(course.fd),
        pd_date=iso(course.fd + pd_day) if pd_day is not None else "",
        pd_source=full.pd_source,
        death_date=iso(course.death) if course.death is not None else "",
        death_cause=course.death_cause,
        ttp_days=ttp_date - course.fd + 1,
        ttp_event=int(ttp_event),
        entered_maintenance=bool(maint is not None and maint <= course.cutoff),
        **mp,
        **compute_pfs_os(pd_day, death_rel, nt_rel, last_assess),
        stop_reason=course.stop_reason or "",
        cycles_started=course.cycles_done,
        new_therapy_date=iso(course.new_therapy) if course.new_therapy is not None else "",
        last_dose_date=iso(course.last_dose_day) if course.last_dose_day else "",
        withdrawal_ae_date=(
            iso(course.withdrawal_ae_day) if course.withdrawal_ae_day is not None else ""
        ),
    )
    return truth
