"""Real-trial shapes the simulator can plant (``cfz simulate --scenarios``), and which subject gets which.

Each scenario has a realistic rate, used by the default trial (a per-subject draw on its own
generator stream, so the rest of the trial is what it would be without it), and a boosted
count, used when the scenario is asked for by name or with ``all`` (at least 2 subjects,
about 4% of the expansion cohort each). A subject carries at most one scenario.

Names (``SCENARIOS``):

* ``waiver``: treated although one eligibility criterion (E2, E3, E6, or E5 for an IMiD
  index regimen) is not met;
* ``btz-monotherapy``: the index regimen is bortezomib alone (E1 not met, E4 met vacuously);
  treated with single-agent carfilzomib;
* ``cfz-held-c1d1``: carfilzomib held on C1D1 (EXDOSE 0, HELD - OTHER) while the partner
  drugs start that day (the first study dose does not move);
* ``ae-ongoing``: an AE ongoing at the data cut (no AEENDTC). Boosted, the first escalation
  DLT is also an ongoing grade-3 nausea/vomiting/diarrhoea (a DLT: it has not resolved);
* ``partial-dates``: month-only dates: the index regimen's PD (RS, half of them dated close
  to the end of E3's 84-day window, so that E3 may depend on the missing day), an AE start
  and an earlier line's CM start;
* ``new-therapy-on-assessment``: new anti-myeloma therapy starts on a response-assessment
  day (the day of the PD-confirming assessment when there is one; else a day-1 visit);
* ``armcd-mismatch``: DM.ARMCD disagrees with the regimen-derived group (boosted share);
* ``early-death``: death (grade-5 AE) in cycle 1 before the first response assessment;
* ``consent-withdrawn``: consent withdrawn before a day-1 visit: no further data;
* ``two-early-dlts``: the first two subjects at the third dose level both have DLTs (that
  level is above the MTD at once). Explicit only: the default trial's DLT rates make it by
  chance;
* ``nadir-above-5``: serum M-protein with a nadir above 5 g/dL followed by a >= 1 g/dL rise
  (PD by the nadir >= 5 g/dL rule before it reaches 25%);
* ``partial-bortezomib``: one index-regimen bortezomib dose sent month-only (CMSTDTC
  ``2025-03``): a third so that E2 depends on the missing day (not evaluable), a third inside
  the only qualifying cycle but met on every possible day, the rest a dose of one of several
  cycles (domain.md 2);
* ``unscheduled-visits``: an extra response assessment labelled UNSCHEDULED on day 22 of
  cycles 2 and 3 (two unscheduled visits on different dates: two assessments, domain.md 4);
* ``investigator-flags``: the investigator's OVRLRESP record carries what CM and AE do not
  (feeds.md RS): half of them die from PD before any PD assessment (a fatal AE coded
  "General physical health deterioration", DTHPDFL = Y on their last investigator record),
  the others start new therapy on a day-1 assessment day sent only as NACTDT on that day's
  investigator record (no CM row).

The last three are boosted only (``all`` or by name): the default trial never draws them.
"""

from __future__ import annotations

import numpy as np

SCENARIOS: tuple[str, ...] = (
    "waiver",
    "btz-monotherapy",
    "cfz-held-c1d1",
    "ae-ongoing",
    "partial-dates",
    "new-therapy-on-assessment",
    "armcd-mismatch",
    "early-death",
    "consent-withdrawn",
    "two-early-dlts",
    "nadir-above-5",
    "partial-bortezomib",
    "unscheduled-visits",
    "investigator-flags",
)
#: per expansion subject, in the default trial (armcd-mismatch: share of all subjects, SimConfig)
REALISTIC_RATES: dict[str, float] = {
    "waiver": 0.02,
    "btz-monotherapy": 0.01,
    "cfz-held-c1d1": 0.02,
    "ae-ongoing": 0.03,
    "partial-dates": 0.03,
    "new-therapy-on-assessment": 0.02,
    "early-death": 0.01,
    "consent-withdrawn": 0.02,
    "nadir-above-5": 0.01,
}
BOOSTED_SHARE = 0.04
BOOSTED_MIN = 2
BOOSTED_ARMCD_SHARE = 0.06
#: boosted only: no realistic rate, so the default trial is what it was before they existed
BOOSTED_ONLY: tuple[str, ...] = ("partial-bortezomib", "unscheduled-visits", "investigator-flags")
#: subject-level scenarios, in the order boosted subjects are picked
SUBJECT_SCENARIOS: tuple[str, ...] = (*REALISTIC_RATES, *BOOSTED_ONLY)
STREAM_SCENARIO = 11
DAY1_PARTNERS = frozenset(
    {
        "DEXAMETHASONE",
        "METHYLPREDNISOLONE",
        "PREDNISONE",
        "LENALIDOMIDE",
        "THALIDOMIDE",
        "CYCLOPHOSPHAMIDE",
        "MELPHALAN",
    }
)


def parse_scenarios(text: str | None) -> tuple[frozenset[str], bool]:
    """``default`` | ``all`` | ``none`` | comma-separated names -> (boosted names, realistic rates on).

    ``default`` (or nothing): realistic rates only; ``none``: no scenario at all (the trial as
    it was before scenarios existed); ``all``: every scenario boosted; names: those boosted,
    the others at their realistic rates. Raises ``ValueError`` naming unknown names.
    """
    t = (text or "").strip()
    if t in ("", "default"):
        return frozenset(), True
    if t == "none":
        return frozenset(), False
    if t == "all":
        return frozenset(SCENARIOS), True
    names = [n.strip() for n in t.split(",") if n.strip()]
    bad = [n for n in names if n not in SCENARIOS]
    if bad:
        raise ValueError(
            f"unknown scenario(s) {', '.join(bad)}; known: default, all, none, {', '.join(SCENARIOS)}"
        )
    return frozenset(names), True


def compute_fits(scenario: str, partners: tuple[str, ...], imid: bool) -> bool:
    """Whether a planned expansion subject can carry ``scenario``: held C1D1 needs a day-1 partner;
    bortezomib monotherapy replaces a non-IMiD regimen (the subject stays in group A)."""
    if scenario == "cfz-held-c1d1":
        return bool(DAY1_PARTNERS & set(partners))
    if scenario == "btz-monotherapy":
        return not imid
    return True


def assign_scenarios(
    seed: int,
    candidates: list[tuple[tuple[str, ...], bool]],
    boosted: frozenset[str],
    realistic: bool,
) -> list[str]:
    """Pick a scenario ('' = none) for each expansion subject (given as (partners, imid)).

    Steps:
    1. boosted scenarios first, in ``SUBJECT_SCENARIOS`` order: max(2, 4% of the cohort) subjects
       each, drawn without replacement among those still free that fit (generator [seed, 11, 0]);
    2. then, when ``realistic``, each still-free subject draws every other scenario with a
       realistic rate (``REALISTIC_RATES``) at that rate (generator [seed, 11, 1, j]; the first hit wins).
    """
    n = len(candidates)
    out = [""] * n
    rng = np.random.default_rng([seed, STREAM_SCENARIO, 0])
    k = max(BOOSTED_MIN, int(round(BOOSTED_SHARE * n)))
    for name in SUBJECT_SCENARIOS:
        if name not in boosted:
            continue
        free = [j for j in range(n) if not out[j] and compute_fits(name, *candidates[j])]
        for j in rng.permutation(free)[:k].tolist():
            out[j] = name
    if realistic:
        for j in range(n):
            r = np.random.default_rng([seed, STREAM_SCENARIO, 1, j])
            u = r.random(len(REALISTIC_RATES))
            if out[j]:
                continue
            for name, x in zip(REALISTIC_RATES, u, strict=True):
                if (
                    name not in boosted
                    and x < REALISTIC_RATES[name]
                    and compute_fits(name, *candidates[j])
                ):
                    out[j] = name
                    break
    return out
