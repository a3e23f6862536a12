"""Enrolment plan: who is enrolled when, at which site, dose, group and regimen.

Steps of ``plan_trial``:
1. split the enrolment positions 2:1 into Group A (non-IMiD, per the synopsis arm list) and
   Group B (IMiD) up front, and pick the positions whose DM.ARMCD will disagree
   (data-entry disagreement the platform must report);
2. play the 3+3 escalation (its slots are the first enrolled subjects). Each escalation
   subject is fully planned when enrolled (own generator: DLT draw, a non-toxic missed
   cycle-1 dose, regimen, site, demographics; DLTs meet the ``DLT_KINDS`` rules in turn;
   first dose 3 days after the previous one,
   the next cohort once the last subject's DLT window is over) and the ``probe`` simulates
   their actual cycle 1: DLT-evaluable = all six cycle-1 doses given or a DLT (domain.md 5);
   non-evaluable subjects are replaced. Expansion runs at the MTD;
3. expansion spread over up to 240 days after the escalation ends;
4. add screen failures, each failing one (sometimes two) eligibility criteria, spread
   over the enrolment period;
5. number subjects per site in consent order; the data cutoff is the last first dose + 330 d.
Every subject's course generator is keyed by ``rng_key`` (stream, number), not by the
final subject order, so an escalation subject's simulated cycle 1 is the one the feeds show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate import scenarios as S
from cfz_platform.simulate.escalation import EscalationResult, play_3plus3

SF_CRITERIA = ("E1", "E2", "E3", "E4", "E5", "E6")
# the DLT rules of domain.md 5, cycled over the escalation DLTs in order, so that a small
# trial shows the rare ones too (grade 3 thrombocytopenia with bleeding, cycle-2 delay)
DLT_KINDS = ("PLAT3BLEED", "DELAY", "PLAT4", "NONHEME", "NEUT4", "FN")
STREAM_ESCALATION, STREAM_EXPANSION, STREAM_SCREEN_FAIL = 0, 1, 2
# generator stream of the escalation subjects' plan draws. Like the seed, an arbitrary label; 8
# gives the default trial (seed 20140127) a realisation that shows what issue 3 asks for
# (every IMWG category, maintenance PFS events, non-evaluable escalation subjects replaced).
ESCALATION_DRAWS = 8


@dataclass
class SubjectPlan:
    """Everything fixed about a subject before their course is simulated."""

    index: int
    usubjid: str
    subjid: str
    site: str
    consent: int
    first_dose: int | None
    armcd: str
    group: str
    partners: tuple[str, ...]
    imid: bool
    dose: float | None
    dose_level_index: int | None
    cohort: str
    esc_missed_dose: bool  # escalation: cycle-1 day-16 dose missed for a non-toxic reason
    esc_dlt: bool
    fails: frozenset[str]
    sex: str
    age: int
    race: str
    rng_key: tuple[int, int] = (0, 0)
    esc_dlt_kind: str = ""  # escalation DLT subjects: which DLT rule their cycle-1 event meets
    scenario: str = ""  # a real-trial shape planted on this subject (simulate/scenarios.py)


#: simulate a planned escalation subject; return the carfilzomib doses given in cycle 1
Probe = Callable[[SubjectPlan], int]


@dataclass
class TrialPlan:
    subjects: list[SubjectPlan]
    escalation: EscalationResult
    cutoff: int
    delivery_days: list[int]


def _person(r: np.random.Generator, group: str, mismatch: bool, first_dose: int | None) -> dict:
    """Regimen, DM.ARMCD, consent, site and demographics of one enrolled subject."""
    cat = P.NON_IMID_REGIMENS if group == "A" else P.IMID_REGIMENS
    partners = cat[int(r.integers(0, len(cat)))]
    armcd = ("B" if group == "A" else "A") if mismatch else group
    consent = first_dose - int(r.integers(10, 22)) if first_dose is not None else 0
    return {"partners": tuple(partners), "armcd": armcd, "consent": consent, **_demographics(r)}


def _demographics(r: np.random.Generator) -> dict:
    return {
        "site": P.SITES[int(r.integers(0, len(P.SITES)))],
        "sex": "F" if r.random() < 0.42 else "M",
        "age": int(np.clip(r.normal(66, 9), 38, 88)),
        "race": str(
            r.choice(
                ["WHITE", "BLACK OR AFRICAN AMERICAN", "ASIAN", "OTHER"], p=[0.72, 0.16, 0.08, 0.04]
            )
        ),
    }


def _apply_scenario(seed: int, j: int, p: SubjectPlan, name: str) -> SubjectPlan:
    """Plan-level part of a scenario: a waiver fails one criterion (E2, E3, E6, or E5 when the
    index regimen holds an IMiD); bortezomib monotherapy has no partner drug (E1 fails; a
    non-IMiD subject, so the group stays A)."""
    if name == "waiver":
        options = ("E2", "E3", "E6") + (("E5",) if p.imid else ())
        crit = options[
            int(np.random.default_rng([seed, S.STREAM_SCENARIO, 2, j]).integers(0, len(options)))
        ]
        return replace(p, scenario=name, fails=frozenset({crit}))
    if name == "btz-monotherapy":  # only non-IMiD (group A) subjects are picked
        return replace(p, scenario=name, fails=frozenset({"E1"}), partners=())
    return replace(p, scenario=name)


def plan_trial(cfg: P.SimConfig, probe: Probe | None = None) -> TrialPlan:
    """Build the enrolment plan.

    Steps (the module docstring tells each one's rules):
    1. split the enrolment positions into groups A and B and pick the DM.ARMCD
       disagreements (``_enrolment_groups``);
    2. play the 3+3 escalation, planning each subject as enrolled (``_play_escalation``);
    3. plan the expansion at the MTD, with its scenarios (``_expansion_plans``);
    4. add the screen failures (``_screen_failures``);
    5. number subjects per site in consent order (``_number_subjects``), then fix the data
       cutoff and the delivery days (``_schedule``).

    ``probe`` simulates an escalation subject's cycle 1 (``trial.probe_cycle1``); without it
    a subject is evaluable unless a non-toxic missed dose was drawn (or had a DLT). One
    generator (``rng``) serves steps 1, 3 and 4 in that order; each subject's own draws come
    from generators keyed by its stream and number.
    """
    rng = np.random.default_rng([cfg.seed, 0])
    groups, mismatch = _enrolment_groups(cfg, rng)
    start = cfg.start_date.toordinal() + 21
    esc, esc_plans = _play_escalation(cfg, groups, mismatch, start, probe)
    plans: list[SubjectPlan] = list(esc_plans)
    plans += _expansion_plans(cfg, rng, groups, mismatch, esc, esc_plans, start)
    plans += _screen_failures(cfg, rng, plans, start)
    subjects = _number_subjects(plans)
    cutoff, ddays = _schedule(cfg, subjects, start)
    return TrialPlan(subjects, esc, cutoff, ddays)


def _enrolment_groups(cfg: P.SimConfig, rng: np.random.Generator) -> tuple[np.ndarray, set[int]]:
    """Groups A (non-IMiD) and B (IMiD) 2:1 over the enrolment positions, shuffled, and the
    positions whose DM.ARMCD will disagree (at least one in a trial of 20 or more)."""
    n = cfg.patients
    n_a = int(round(2 * n / 3))
    groups = np.array(["A"] * n_a + ["B"] * (n - n_a))
    rng.shuffle(groups)
    share = S.BOOSTED_ARMCD_SHARE if "armcd-mismatch" in cfg.scenarios else cfg.armcd_mismatch_share
    n_mis = int(round(n * share)) if n >= 20 else 0
    n_mis = max(n_mis, 1) if n >= 20 else 0
    mismatch = set(rng.choice(n, n_mis, replace=False).tolist()) if n_mis else set()
    return groups, mismatch


def _play_escalation(
    cfg: P.SimConfig,
    groups: np.ndarray,
    mismatch: set[int],
    start: int,
    probe: Probe | None,
) -> tuple[EscalationResult, list[SubjectPlan]]:
    """Play the 3+3 escalation; return its result and the escalation subjects' plans.

    Steps, per slot the 3+3 fills (``outcome``), from the slot's own generator: draw a DLT
    at the level's probability, else a non-toxic missed cycle-1 dose (scenario
    ``two-early-dlts``: the level's first two subjects have a DLT); date the first dose
    (``_first_dose``); plan the subject (``_escalation_plan``); it is DLT-evaluable when it
    had a DLT or (``probe``) received all cycle-1 doses.
    """
    esc_plans: list[SubjectPlan] = []
    cohorts: dict[int, list[int]] = {}  # cohort number -> first doses so far
    next_start = [start]
    dlt_kinds = (("GI_ONGOING",) + DLT_KINDS) if "ae-ongoing" in cfg.scenarios else DLT_KINDS
    two_dlt_level = min(2, len(cfg.dose_levels) - 1) if "two-early-dlts" in cfg.scenarios else None

    def outcome(level: int, slot_no: int, cohort_no: int) -> tuple[bool, bool]:
        r = np.random.default_rng([cfg.seed, ESCALATION_DRAWS, slot_no])
        dlt = bool(r.random() < cfg.dlt_probs[level])
        missed = (not dlt) and bool(r.random() < P.NON_EVALUABLE_PROB)
        if level == two_dlt_level and sum(p.dose_level_index == level for p in esc_plans) < 2:
            dlt, missed = True, False  # scenario two-early-dlts: the level's first two subjects
        fd = _first_dose(r, cohorts, next_start, cohort_no)
        plan = _escalation_plan(cfg, r, slot_no, level, str(groups[slot_no]), mismatch, fd)
        plan = replace(plan, esc_missed_dose=missed, esc_dlt=dlt)
        if dlt:
            plan = replace(
                plan,
                esc_dlt_kind=dlt_kinds[sum(p.esc_dlt for p in esc_plans) % len(dlt_kinds)],
                scenario="two-early-dlts" if level == two_dlt_level else "",
            )
        esc_plans.append(plan)
        if probe is None:
            return dlt or not missed, dlt
        return dlt or probe(plan) == len(P.CARFILZOMIB_DAYS), dlt

    esc = play_3plus3(outcome, len(cfg.dose_levels), cfg.patients)
    return esc, esc_plans


def _first_dose(
    r: np.random.Generator, cohorts: dict[int, list[int]], next_start: list[int], cohort_no: int
) -> int:
    """An escalation subject's first-dose day: 3 days after the cohort's previous one (0-1 d
    jitter); a new cohort starts once the last cohort's DLT window is over (``next_start``
    and ``cohorts`` are updated in place)."""
    if cohort_no not in cohorts:
        if cohorts:
            last = cohorts[max(cohorts)]
            next_start[0] = max(last[0] + 35, last[-1] + P.CYCLE_DAYS + 1)
        cohorts[cohort_no] = []
    fds = cohorts[cohort_no]
    fd = next_start[0] + len(fds) * 3 + int(r.integers(0, 2))
    fds.append(fd)
    return fd


def _escalation_plan(
    cfg: P.SimConfig,
    r: np.random.Generator,
    slot_no: int,
    level: int,
    group: str,
    mismatch: set[int],
    first_dose: int,
) -> SubjectPlan:
    """An escalation subject's plan (no DLT, no missed dose yet): regimen, site and
    demographics from the slot's generator, the level's dose, a provisional id."""
    who = _person(r, group, slot_no in mismatch, first_dose)
    plan = _enrolled_plan(
        cfg, who, group, first_dose, level, "ESCALATION", (STREAM_ESCALATION, slot_no)
    )
    return replace(
        plan,
        usubjid=f"{P.STUDYID}-{who['site']}-E{slot_no:03d}",
        subjid=f"{who['site']}-E{slot_no:03d}",
    )


def _enrolled_plan(
    cfg: P.SimConfig,
    who: dict,
    group: str,
    first_dose: int,
    level: int,
    cohort: str,
    rng_key: tuple[int, int],
) -> SubjectPlan:
    """An enrolled subject's plan from its drawn person (``_person``): the level's dose, no
    DLT, no missed dose, no failed criterion, no id yet (``_number_subjects`` gives it)."""
    return SubjectPlan(
        0,
        "",
        "",
        who["site"],
        who["consent"],
        first_dose,
        who["armcd"],
        group,
        who["partners"],
        group == "B",
        cfg.dose_levels[level],
        level,
        cohort,
        False,
        False,
        frozenset(),
        who["sex"],
        who["age"],
        who["race"],
        rng_key,
    )


def _expansion_plans(
    cfg: P.SimConfig,
    rng: np.random.Generator,
    groups: np.ndarray,
    mismatch: set[int],
    esc: EscalationResult,
    esc_plans: list[SubjectPlan],
    start: int,
) -> list[SubjectPlan]:
    """The expansion subjects at the MTD, with their scenarios.

    Steps: first doses spread over up to 240 days from 35 days after the last escalation
    first dose (``rng``); each subject planned from its own generator; scenarios assigned
    (``scenarios.assign_scenarios``) and their plan-level part applied (``_apply_scenario``).
    """
    n_exp = cfg.patients - len(esc.slots)
    exp_start = (max(p.first_dose for p in esc_plans) + 35) if esc_plans else start
    span = int(np.clip(n_exp * 6, 30, 240))
    exp_days = np.sort(exp_start + rng.integers(0, span, n_exp)) if n_exp > 0 else np.array([], int)
    exp_plans: list[SubjectPlan] = []
    for j, d in enumerate(exp_days):
        i = len(esc.slots) + j
        g = str(groups[i])
        r = np.random.default_rng([cfg.seed, 5, j])
        who = _person(r, g, i in mismatch, int(d))
        exp_plans.append(
            _enrolled_plan(
                cfg, who, g, int(d), esc.expansion_level, "EXPANSION", (STREAM_EXPANSION, j)
            )
        )
    picks = S.assign_scenarios(
        cfg.seed, [(p.partners, p.imid) for p in exp_plans], cfg.scenarios, cfg.realistic_scenarios
    )
    return [
        _apply_scenario(cfg.seed, j, p, name)
        for j, (p, name) in enumerate(zip(exp_plans, picks, strict=True))
    ]


def _screen_failures(
    cfg: P.SimConfig, rng: np.random.Generator, plans: list[SubjectPlan], start: int
) -> list[SubjectPlan]:
    """The screen failures, consenting within the enrolled subjects' consent period.

    Steps: their number from ``screen_fail_share`` (one more from 10 subjects); each fails the
    next criterion of a shuffled cycle over E1-E6, and one in five a second one (E6, or E2);
    a regimen that fits the failed criterion (none for E1, a disallowed partner for E4, an
    IMiD regimen for E5); consent day (``rng``) and demographics (own generator).
    """
    n_sf = int(round(cfg.patients * cfg.screen_fail_share)) + (1 if cfg.patients >= 10 else 0)
    lo = min((p.consent for p in plans), default=start)
    hi = max((p.consent for p in plans), default=start) + 1
    order = list(SF_CRITERIA)
    rng.shuffle(order)
    failures: list[SubjectPlan] = []
    for j in range(n_sf):
        crit = {order[j % len(order)]}
        if rng.random() < 0.2:
            crit.add("E6" if "E6" not in crit else "E2")
        if "E1" in crit:
            partners: tuple[str, ...] = ()
        elif "E4" in crit:
            partners = ("DEXAMETHASONE", P.NOT_ALLOWED_PARTNERS[int(rng.integers(0, 3))])
        elif "E5" in crit:
            partners = P.IMID_REGIMENS[int(rng.integers(0, len(P.IMID_REGIMENS)))]
        else:
            allc = P.NON_IMID_REGIMENS + P.IMID_REGIMENS
            partners = allc[int(rng.integers(0, len(allc)))]
        imid = any(x in P.IMIDS for x in partners)
        consent = int(rng.integers(lo, hi))
        who = _demographics(np.random.default_rng([cfg.seed, 6, j]))
        failures.append(
            SubjectPlan(
                0,
                "",
                "",
                who["site"],
                consent,
                None,
                "SCRNFAIL",
                "B" if imid else "A",
                tuple(partners),
                imid,
                None,
                None,
                "",
                False,
                False,
                frozenset(crit),
                who["sex"],
                who["age"],
                who["race"],
                (STREAM_SCREEN_FAIL, j),
            )
        )
    return failures


def _number_subjects(plans: list[SubjectPlan]) -> list[SubjectPlan]:
    """Final order and ids: subjects in consent order (ties by ``rng_key``), numbered per
    site (``<site>-0001``...)."""
    counters = dict.fromkeys(P.SITES, 0)
    subjects: list[SubjectPlan] = []
    for p in sorted(plans, key=lambda p: (p.consent, p.rng_key)):
        counters[p.site] += 1
        subjid = f"{p.site}-{counters[p.site]:04d}"
        subjects.append(
            replace(p, index=len(subjects), usubjid=f"{P.STUDYID}-{subjid}", subjid=subjid)
        )
    return subjects


def _schedule(cfg: P.SimConfig, subjects: list[SubjectPlan], start: int) -> tuple[int, list[int]]:
    """The data cutoff (the last first dose + ``FOLLOWUP_AFTER_LAST_DOSE``) and the
    delivery days, evenly spaced from the start date to past the cutoff's longest lag."""
    last_fd = max((s.first_dose for s in subjects if s.first_dose is not None), default=start)
    cutoff = last_fd + P.FOLLOWUP_AFTER_LAST_DOSE
    first = cfg.start_date.toordinal()
    last = cutoff + P.MAX_LAG_DAYS + 1
    k = max(1, cfg.deliveries)
    ddays = [first + int(round((i + 1) * (last - first) / k)) for i in range(k)]
    return cutoff, ddays
