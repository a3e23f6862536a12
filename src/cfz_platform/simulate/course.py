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
from cfz_platform.simulate.dosing import LOWER, dose_cycle
from cfz_platform.simulate.followup import new_therapy_records, ongoing_ae
from cfz_platform.simulate.kinetics import compute_factor
from cfz_platform.simulate.maintenance import simulate_maintenance
from cfz_platform.simulate.prior_therapy import build_prior_therapy
from cfz_platform.simulate.response import ImwgAssessor
from cfz_platform.simulate.safety import (
    BLEEDING,
    DELAY_TERMS,
    DLT_NONHEME,
    FATAL,
    GI_TERMS,
    HEME,
    NONHEME,
    AdverseEvent,
    ae_records,
    draw_nonheme,
)
from cfz_platform.simulate.subject_sim import (
    Missing,
    SubjectResult,
    SubjectSim,
    grade_hgb,
    grade_neut,
    grade_plat,
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

    dose = float(plan.dose)
    reductions = 0
    cs = fd
    last_dose_day: int | None = None
    death: int | None = None
    death_cause = ""
    c4_start: int | None = None
    dlt_event = plan.esc_dlt or (
        plan.cohort == "EXPANSION" and rng.random() < P.DLT_PROBS[plan.dose_level_index or 0]
    )
    esc = plan.cohort == "ESCALATION"
    cycles_done = 0
    stop_reason = None
    delay = 0  # of the next cycle's day 1, set at the end of each cycle
    c2_start: int | None = None
    new_therapy: int | None = None
    # scenarios: the cycle whose day-1 visit is not reached (consent withdrawn) or where new
    # therapy starts on the assessment day
    stop_cycle = (
        int(aux.integers(2, 6))
        if scenario in ("consent-withdrawn", "new-therapy-on-assessment")
        else 0
    )
    for c in range(1, P.N_COMBINATION_CYCLES + 1):
        if c > 1:
            cs = cs + P.CYCLE_DAYS + delay
        if cs > cutoff:
            stop_reason = "CUTOFF"
            break
        if scenario == "consent-withdrawn" and c == stop_cycle:
            stop_reason = "WITHDRAWN"
            break
        if c == 2:
            c2_start = cs
        if c == 4:
            c4_start = cs
        t1 = cs - fd
        kq = float(compute_factor(sim.f, sim.d, sim.g, t1))
        resp_boost = (1 - min(1.0, kq)) if sim.responder else 0.0
        v1 = f"C{c}D1"
        if c > 1 and not (c >= 3 and sim._skip_visit(v1, cs)):
            lag = sim._lag()
            pan = sim.resp_panel(cs, t1, v1, lag)
            sim.cbc(
                cs,
                v1,
                lag,
                sim.plat0 * (1 + 0.1 * resp_boost) * float(rng.uniform(0.92, 1.0)) * noise(rng),
                sim.neut0 * noise(rng),
                (sim.hgb0 + 1.2 * resp_boost) * noise(rng),
                sim.lym0 * 0.8 * noise(rng),
            )
            sim.chem(cs, v1, lag, t1)
            sim.igs(cs, v1, lag, t1)
            sim.vs(cs, v1, sim._lag(1, 8))
            simulate_assessment(sim, track, cs, v1, pan, "TREATMENT", True, c in (4, 7), lag)
            if track.stop:
                stop_reason = "PD"
                break
            if scenario == "new-therapy-on-assessment" and c >= stop_cycle + 1:
                new_therapy, stop_reason = cs, "NEW THERAPY"  # started on this assessment day
                break
        # ---- counts on days 8 and 15
        pdep = sim.pdepth * float(rng.uniform(0.8, 1.2))
        ndep = sim.ndepth * float(rng.uniform(0.8, 1.2))
        dtype = None
        if c == 1 and dlt_event:
            dtype = ("PLAT4", "NEUT4", "FN", "NONHEME")[int(rng.integers(0, 4))]
            if esc and plan.esc_dlt_kind:
                dtype = plan.esc_dlt_kind
        counts = {}
        for dd, bump in ((8, rng.uniform(0.6, 1.0)), (15, rng.uniform(0.75, 1.0))):
            plat = sim.plat0 * (1 - pdep * bump) * noise(rng)
            neut = sim.neut0 * (1 - ndep * bump) * noise(rng)
            if c == 1 and esc and not plan.esc_dlt:
                plat, neut = max(plat, 26.0), max(neut, 0.55)
            if dtype == "PLAT4" and dd == 8:
                plat = float(rng.uniform(12, 24))
            if dtype == "PLAT3BLEED":
                plat = float(aux.uniform(27, 45)) if dd == 8 else max(plat, 30.0)
            if dtype == "NEUT4":
                neut = float(rng.uniform(0.2, 0.45))
            if dtype == "FN" and dd == 15:
                neut = float(rng.uniform(0.3, 0.9))
            counts[dd] = (
                plat,
                neut,
                (sim.hgb0 + 1.2 * resp_boost - 0.6 * bump) * noise(rng),
                sim.lym0 * (1 - 0.4 * bump) * noise(rng),
            )
        cyc_events: list[AdverseEvent] = []
        stop_day = cutoff
        if scenario == "early-death" and c == 1:  # before the first response assessment (C1D8)
            death = fd + int(aux.integers(2, 7))
            bodsys, term = FATAL["Sepsis"]
            cyc_events.append(
                AdverseEvent(
                    "Sepsis",
                    term,
                    bodsys,
                    5,
                    death - int(aux.integers(0, 2)),
                    death,
                    "UNLIKELY",
                    True,
                )
            )
            death_cause = "ADVERSE EVENT"
            stop_day = death - 1
        sent_counts: dict[int, dict] = {}
        for dd in (8, 15):
            day = cs + dd - 1
            if day > cutoff or day > stop_day:
                continue
            v = f"C{c}D{dd}"
            if c >= 2 and sim._skip_visit(v, day):
                continue
            lag = sim._lag()
            sent_counts[day] = sim.cbc(day, v, lag, *counts[dd])
            if c == 1:
                pan = sim.resp_panel(day, day - fd, v, lag)
                sim.chem(day, v, lag, day - fd)
                simulate_assessment(sim, track, day, v, pan, "TREATMENT", False, False, lag)
                if track.stop:
                    stop_day = day
        # ---- AEs
        n_ae = int(rng.poisson(1.0 if c == 1 else 0.6))
        nh = draw_nonheme(rng, n_ae, cs, P.CYCLE_DAYS)
        for e in nh:
            if c == 1 and esc:
                e.protect_dates = True
                if not plan.esc_dlt and e.grade >= 3 and e.related:
                    short_gi = e.decod in GI_TERMS and e.end - e.start <= 3
                    if not short_gi:
                        e.grade = 2
        cyc_events += nh
        dlt_ev = None
        if dtype == "DELAY" and (track.pending_pd or track.stop):
            dtype = "NONHEME"  # cycle 2 may not be given: make the DLT a grade 3 event instead
        if dtype in ("FN", "NONHEME", "DELAY", "GI_ONGOING"):
            on = cs + int(rng.integers(9, 20)) if dtype == "FN" else cs + int(rng.integers(2, 24))
            if dtype == "GI_ONGOING":  # grade 3 nausea/vomiting/diarrhoea, not resolved at the cut
                dec = sorted(GI_TERMS)[int(aux.integers(0, len(GI_TERMS)))]
                bodsys, terms, _w = NONHEME[dec]
                dlt_ev = AdverseEvent(dec, terms[0], bodsys, 3, on, None, "PROBABLE", False, True)
            elif dtype == "FN":
                dlt_ev = AdverseEvent(
                    "Febrile neutropenia",
                    HEME["Febrile neutropenia"][1],
                    HEME["Febrile neutropenia"][0],
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
                dlt_ev = AdverseEvent(
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
                if dtype == "DELAY":  # grade 2: a DLT only because it delays cycle 2 by > 14 days
                    dec = DELAY_TERMS[int(aux.integers(0, len(DELAY_TERMS)))]
                    bodsys, terms, _w = NONHEME[dec]
                    dlt_ev = AdverseEvent(
                        dec,
                        terms[0],
                        bodsys,
                        2,
                        min(on, cs + 15),
                        min(on, cs + 15) + 21,
                        "PROBABLE",
                        False,
                        True,
                    )
            dlt_ev.protect_dates = True
            dlt_ev.acn = "DRUG INTERRUPTED"
            cyc_events.append(dlt_ev)
        # haematologic AEs from the counts sent
        for decod, key, grader, min_g in (
            ("Thrombocytopenia", "PLAT", grade_plat, 2),
            ("Neutropenia", "NEUT", grade_neut, 2),
            ("Anaemia", "HGB", grade_hgb, 3),
        ):
            days_g = [(d, grader(v[key])) for d, v in sorted(sent_counts.items())]
            hit = [(d, g) for d, g in days_g if g >= min_g]
            if not hit:
                continue
            onset = hit[0][0]
            grade = max(g for _, g in hit)
            end = hit[-1][0] + int(rng.integers(4, 9))
            is_dlt = False
            if c == 1 and dtype == "NEUT4" and decod == "Neutropenia":
                end = onset + int(rng.integers(9, 14))
                is_dlt = True
            if c == 1 and dtype in ("PLAT4", "PLAT3BLEED") and decod == "Thrombocytopenia":
                is_dlt = True
            bodsys, term = HEME[decod]
            ev = AdverseEvent(decod, term, bodsys, grade, onset, end, "PROBABLE", False, is_dlt)
            ev.protect_dates = c == 1 and esc
            if is_dlt:
                dlt_ev = ev
            cyc_events.append(ev)
            # bleeding with grade >= 3 thrombocytopenia: the planned DLT, or now and then outside
            # the escalation cycle 1 (where it would be a DLT the plan did not draw)
            if (
                decod == "Thrombocytopenia"
                and grade >= 3
                and (
                    (c == 1 and dtype == "PLAT3BLEED")
                    or (not (c == 1 and esc) and aux.random() < 0.3)
                )
            ):
                bdec = tuple(BLEEDING)[int(aux.integers(0, len(BLEEDING)))]
                b_on = onset + int(aux.integers(0, 3))
                bleed = AdverseEvent(
                    bdec,
                    BLEEDING[bdec][1],
                    BLEEDING[bdec][0],
                    int(aux.integers(1, 3)),
                    b_on,
                    min(b_on + int(aux.integers(1, 6)), end),
                    ("UNLIKELY", "POSSIBLE")[int(aux.integers(0, 2))],
                )
                bleed.protect_dates = c == 1 and esc
                cyc_events.append(bleed)
        if dlt_ev is not None:
            dlt_ev.dlt = True
            dlt_ev.acn = "DRUG INTERRUPTED"
        if death is not None:  # early death: nothing starts after it
            cyc_events = [e for e in cyc_events if e.start <= death]
        # non-PD death (never in cycle 1)
        if c >= 2 and death is None and rng.random() < 0.006:
            death = cs + int(rng.integers(0, P.CYCLE_DAYS))
            cause = ("Sepsis", "Cardiac failure")[int(rng.integers(0, 2))]
            bodsys, term = FATAL[cause]
            cyc_events.append(
                AdverseEvent(
                    cause,
                    term,
                    bodsys,
                    5,
                    death - int(rng.integers(0, 6)),
                    death,
                    ("NOT RELATED", "UNLIKELY", "POSSIBLE")[int(rng.integers(0, 3))],
                    True,
                )
            )
            death_cause = "ADVERSE EVENT"
            stop_day = min(stop_day, death - 1)
        sim.events += cyc_events
        # ---- dosing
        holds = [e for e in cyc_events if e.holds_dosing]
        for e in holds:
            if e.acn == "DOSE NOT CHANGED":
                e.acn = "DRUG INTERRUPTED"
        got = dose_cycle(
            sim,
            c,
            cs,
            dose,
            float(plan.dose),
            holds,
            dlt_ev if c == 1 else None,
            c == 1 and esc and plan.esc_missed_dose,
            min(stop_day, cutoff),
            "TREATMENT",
            hold_day1=c == 1 and scenario == "cfz-held-c1d1",
        )
        if got is not None:
            last_dose_day = got
        cycles_done = c
        if death is not None:
            stop_reason = "DEATH"
            break
        if track.stop:
            stop_reason = "PD"
            break
        if cs + P.CYCLE_DAYS > cutoff:
            stop_reason = "CUTOFF"
            break
        if holds:
            reductions += 1
            if reductions > 2:
                stop_reason = "TOX"
                break
            dose = LOWER[dose]
            delay = (
                int(rng.integers(7, 22))
                if (c == 1 and dlt_ev is not None)
                else int(rng.integers(7, 15))
            )
        else:
            delay = 0 if rng.random() < 0.8 else int(rng.integers(1, 6))
        if c == 1 and dtype == "DELAY":
            delay = 15 + int(
                aux.integers(0, 7)
            )  # the interrupting toxicity delays cycle 2 by 15-21 days
        if rng.random() < 0.015 and not (c == 1 and dtype == "DELAY"):
            stop_reason = "TOX"
            break
    else:
        stop_reason = "COMPLETED"
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
