"""Enrolment plan: who is enrolled when, at which site, dose, group and regimen.

Steps of ``plan_trial``:
1. play the 3+3 escalation (its slots are the first enrolled subjects), expansion at the MTD;
2. split enrolled subjects 2:1 into Group A (non-IMiD, per the synopsis arm list) and
   Group B (IMiD) and pick each one's index regimen; a few get the opposite DM.ARMCD
   (data-entry disagreement the platform must report);
3. date the first doses: escalation cohorts 35 days apart (cycle-1 DLT window + a week),
   expansion spread over up to 240 days after the escalation ends;
4. add screen failures, each failing one (sometimes two) eligibility criteria, spread
   over the enrolment period;
5. number subjects per site in consent order; the data cutoff is the last first dose + 330 d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cfz_platform.simulate import params as P
from cfz_platform.simulate.escalation import EscalationResult, play_3plus3

SF_CRITERIA = ("E1", "E2", "E3", "E4", "E5", "E6")


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
    esc_evaluable: bool | None
    esc_dlt: bool
    fails: frozenset[str]
    sex: str
    age: int
    race: str


@dataclass
class TrialPlan:
    subjects: list[SubjectPlan]
    escalation: EscalationResult
    cutoff: int
    delivery_days: list[int]


def plan_trial(cfg: P.SimConfig) -> TrialPlan:
    """Build the enrolment plan (see the module docstring for the steps)."""
    rng = np.random.default_rng([cfg.seed, 0])
    n = cfg.patients
    esc = play_3plus3(rng, cfg.dlt_probs, n, P.NON_EVALUABLE_PROB)
    start = cfg.start_date.toordinal() + 21
    # first doses
    fds: list[tuple[int, int, str, bool | None, bool]] = []  # (day, level, cohort, evaluable, dlt)
    cohort_start: dict[int, int] = {}
    day = start
    for s in esc.slots:
        if s.cohort_no not in cohort_start:
            cohort_start[s.cohort_no] = day
            k = 0
        fds.append((cohort_start[s.cohort_no] + k * 3 + int(rng.integers(0, 2)), s.level, "ESCALATION",
                    s.evaluable, s.dlt))
        k += 1
        day = cohort_start[s.cohort_no] + 35
    n_exp = n - len(esc.slots)
    exp_start = (max(f[0] for f in fds) + 35) if fds else start
    span = int(np.clip(n_exp * 6, 30, 240))
    exp_days = np.sort(exp_start + rng.integers(0, span, n_exp)) if n_exp > 0 else np.array([], int)
    for d in exp_days:
        fds.append((int(d), esc.expansion_level, "EXPANSION", None, False))
    # groups: exactly round(2n/3) in A
    n_a = int(round(2 * n / 3))
    groups = np.array(["A"] * n_a + ["B"] * (n - n_a))
    rng.shuffle(groups)
    n_mis = int(round(n * cfg.armcd_mismatch_share)) if n >= 20 else 0
    n_mis = max(n_mis, 1) if n >= 20 else 0
    mismatch = set(rng.choice(n, n_mis, replace=False).tolist()) if n_mis else set()
    plans: list[tuple] = []
    for i, (fd, lvl, cohort, ev, dlt) in enumerate(fds):
        g = str(groups[i])
        cat = P.NON_IMID_REGIMENS if g == "A" else P.IMID_REGIMENS
        partners = cat[int(rng.integers(0, len(cat)))]
        armcd = ("B" if g == "A" else "A") if i in mismatch else g
        consent = fd - int(rng.integers(10, 22))
        plans.append((consent, fd, armcd, g, partners, g == "B", cfg.dose_levels[lvl], lvl, cohort, ev, dlt,
                      frozenset()))
    # screen failures
    n_sf = int(round(n * cfg.screen_fail_share)) + (1 if n >= 10 else 0)
    lo = min((p[0] for p in plans), default=start)
    hi = max((p[0] for p in plans), default=start) + 1
    order = list(SF_CRITERIA)
    rng.shuffle(order)
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
        plans.append((consent, None, "SCRNFAIL", "B" if imid else "A", partners, imid, None, None, "", None,
                      False, frozenset(crit)))
    # sites and numbering in consent order
    order_idx = sorted(range(len(plans)), key=lambda i: (plans[i][0], i))
    site_of = rng.choice(len(P.SITES), len(plans))
    counters = dict.fromkeys(P.SITES, 0)
    subjects: list[SubjectPlan] = []
    for idx in order_idx:
        (consent, fd, armcd, g, partners, imid, dose, lvl, cohort, ev, dlt, fails) = plans[idx]
        site = P.SITES[int(site_of[idx])]
        counters[site] += 1
        subjid = f"{site}-{counters[site]:04d}"
        sex = "F" if rng.random() < 0.42 else "M"
        age = int(np.clip(rng.normal(66, 9), 38, 88))
        race = str(rng.choice(["WHITE", "BLACK OR AFRICAN AMERICAN", "ASIAN", "OTHER"], p=[.72, .16, .08, .04]))
        subjects.append(SubjectPlan(len(subjects), f"{P.STUDYID}-{subjid}", subjid, site, consent, fd, armcd, g,
                                    tuple(partners), imid, dose, lvl, cohort, ev, dlt, fails, sex, age, race))
    last_fd = max((s.first_dose for s in subjects if s.first_dose is not None), default=start)
    cutoff = last_fd + P.FOLLOWUP_AFTER_LAST_DOSE
    first = cfg.start_date.toordinal()
    last = cutoff + P.MAX_LAG_DAYS + 1
    k = max(1, cfg.deliveries)
    ddays = [first + int(round((i + 1) * (last - first) / k)) for i in range(k)]
    return TrialPlan(subjects, esc, cutoff, ddays)
