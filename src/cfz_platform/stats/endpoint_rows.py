"""The rows of rpt_study_endpoints and rpt_survival_curves, computed from plain records.

Pure computation (no database): ``endpoints.write_endpoint_tables`` reads the marts, calls
``compute_endpoint_rows`` and writes what it returns. Each family of endpoints has its own
function: response (ORR, best-response counts), time to event (KM medians and curves) and
dose escalation (MTD, DLT count).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from cfz_platform.stats.binomial import compute_clopper_pearson
from cfz_platform.stats.km import compute_kaplan_meier

RESPONSE_ORDER = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"]
TTE_PARAMS = ["TTP", "PFS", "OS", "PFSMAINT", "DOR"]
#: (analysis population, dim_subject flag) of each family of endpoints (domain.md 4, 5)
RESPONSE_POPULATION = ("response-evaluable", "respevalfl")
DLT_POPULATION = ("DLT-evaluable", "dltevalfl")
#: ORR endpoints: (endpoint, fct_best_response flag counted, note)
ORR_ENDPOINTS = [
    ("ORR_PROTOCOL", "is_clinical_benefit", "best confirmed response >= MR (protocol ORR)"),
    ("ORR_CONVENTIONAL", "is_responder", "best confirmed response >= PR"),
]
KM_METHOD = "Kaplan-Meier, Greenwood variance, log-log 95% CI (Brookmeyer-Crowley)"

ENDPOINT_COLUMNS: list[tuple[str, str]] = [
    ("endpoint", "text"),
    ("population", "text"),
    ("n_subjects", "integer"),
    ("n_count", "integer"),
    ("n_events", "integer"),
    ("n_censored", "integer"),
    ("estimate", "double precision"),
    ("ci_lower", "double precision"),
    ("ci_upper", "double precision"),
    ("unit", "text"),
    ("method", "text"),
    ("note", "text"),
    ("analysis_population", "text"),
    ("population_flag", "text"),
    ("group_source", "text"),
]
CURVE_COLUMNS: list[tuple[str, str]] = [
    ("paramcd", "text"),
    ("population", "text"),
    ("time", "double precision"),
    ("n_at_risk", "integer"),
    ("n_events", "integer"),
    ("n_censored", "integer"),
    ("survival", "double precision"),
    ("ci_lower", "double precision"),
    ("ci_upper", "double precision"),
]

#: (population label, analysis population) -> (analysis_population, population_flag, group_source)
Tagger = Callable[[str, tuple[str, str | None]], tuple]


@dataclass
class EndpointTables:
    endpoints: list[tuple]
    curves: list[tuple]


def compute_endpoint_row(endpoint: str, population: str, tag: tuple, **values: object) -> tuple:
    """One rpt_study_endpoints row in ``ENDPOINT_COLUMNS`` order: the named ``values``
    (n_subjects, estimate, unit, ...; absent ones null) and the population ``tag``
    (analysis_population, population_flag, group_source)."""
    known = {name for name, _ in ENDPOINT_COLUMNS[2:-3]}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"not rpt_study_endpoints columns: {sorted(unknown)}")
    return (endpoint, population, *(values.get(name) for name, _ in ENDPOINT_COLUMNS[2:-3]), *tag)


def _populations(rows: list[dict]) -> dict[str, list[dict]]:
    """'OVERALL' plus one population per group label (rows without a group only in OVERALL)."""
    pops: dict[str, list[dict]] = {"OVERALL": rows}
    for g in sorted({r["grp"] for r in rows if r["grp"] is not None}):
        pops[f"GROUP {g}"] = [r for r in rows if r["grp"] == g]
    return pops


def _in_population(rows: list[dict]) -> list[dict]:
    """Rows of response-evaluable subjects: ``respevalfl`` true (rows without the key count:
    the caller already filtered them)."""
    return [r for r in rows if r.get("respevalfl", True)]


def compute_response_rows(best: list[dict], tag: Tagger, population: tuple) -> list[tuple]:
    """ORR (both definitions) and best-response counts per subgroup.

    Steps, per subgroup (OVERALL, GROUP x): 1. protocol ORR (>= MR) and conventional ORR
    (>= PR) with Clopper-Pearson exact 95% CIs; 2. the count and proportion of each best
    confirmed response (``RESPONSE_ORDER``).
    """
    rows_out: list[tuple] = []
    for pop, rows in _populations(best).items():
        n = len(rows)
        for endpoint, key, note in ORR_ENDPOINTS:
            x = sum(1 for r in rows if r[key])
            p, lo, hi = compute_clopper_pearson(x, n)
            rows_out.append(
                compute_endpoint_row(
                    endpoint,
                    pop,
                    tag(pop, population),
                    n_subjects=n,
                    n_count=x,
                    estimate=p,
                    ci_lower=lo,
                    ci_upper=hi,
                    unit="proportion",
                    method="Clopper-Pearson exact 95% CI",
                    note=note,
                )
            )
        for cat in RESPONSE_ORDER:
            x = sum(1 for r in rows if r["best_response"] == cat)
            rows_out.append(
                compute_endpoint_row(
                    f"BOR_{cat.upper()}",
                    pop,
                    tag(pop, population),
                    n_subjects=n,
                    n_count=x,
                    estimate=(x / n) if n else None,
                    unit="proportion",
                    method="count",
                    note=f"subjects with best confirmed response {cat}",
                )
            )
    return rows_out


def compute_time_to_event_rows(
    tte: list[dict], tag: Tagger, population: tuple
) -> tuple[list[tuple], list[tuple]]:
    """KM medians (endpoint rows) and KM curves (curve rows) per parameter and subgroup.

    Steps, per parameter of ``TTE_PARAMS`` and subgroup: 1. Kaplan-Meier over AVAL with
    events 1 - CNSR; 2. the median with its log-log 95% CI, events and censored; 3. one curve
    row per distinct time (at risk, events, censored, survival, CI).
    """
    endpoints: list[tuple] = []
    curves: list[tuple] = []
    for param in TTE_PARAMS:
        for pop, rows in _populations([r for r in tte if r["paramcd"] == param]).items():
            km = compute_kaplan_meier([r["aval"] for r in rows], [1 - r["cnsr"] for r in rows])
            endpoints.append(
                compute_endpoint_row(
                    f"MEDIAN_{param}",
                    pop,
                    tag(pop, population),
                    n_subjects=km.n_subjects,
                    n_events=km.total_events,
                    n_censored=km.n_subjects - km.total_events,
                    estimate=km.median,
                    ci_lower=km.median_lower,
                    ci_upper=km.median_upper,
                    unit="days",
                    method=KM_METHOD,
                    note=None if km.median is not None else "median not reached",
                )
            )
            curves += [
                (
                    param,
                    pop,
                    t,
                    km.n_at_risk[i],
                    km.n_events[i],
                    km.n_censored[i],
                    km.survival[i],
                    km.ci_lower[i],
                    km.ci_upper[i],
                )
                for i, t in enumerate(km.time)
            ]
    return endpoints, curves


def compute_escalation_rows(escalation: list[dict], tag: Tagger) -> list[tuple]:
    """The MTD (dose level flagged is_mtd, mg/m2) and the DLT count among the DLT-evaluable
    subjects, both from fct_dose_escalation's rows."""
    mtd = [r for r in escalation if r.get("is_mtd")]
    dlts = sum(int(r.get("n_with_dlt") or 0) for r in escalation)
    evaluable = sum(int(r.get("n_dlt_evaluable") or 0) for r in escalation)
    overall = tag("OVERALL", DLT_POPULATION)
    return [
        compute_endpoint_row(
            "MTD",
            "OVERALL",
            overall,
            estimate=float(mtd[0]["dose_level"]) if mtd else None,
            unit="mg/m2",
            method="3+3",
            note=None if mtd else "MTD not established",
        ),
        compute_endpoint_row(
            "DLT_COUNT",
            "OVERALL",
            overall,
            n_subjects=evaluable,
            n_count=dlts,
            unit="count",
            method="DLT rules (domain.md 5)",
            note="subjects with a DLT among DLT-evaluable subjects",
        ),
    ]


def compute_endpoint_rows(
    best: list[dict],
    tte: list[dict],
    escalation: list[dict] | None,
    group_source: str | None = None,
    response_population: tuple[str, str | None] = RESPONSE_POPULATION,
) -> EndpointTables:
    """Compute every endpoint row and KM curve row from plain records.

    Steps:
    1. keep only response-evaluable subjects (``respevalfl``, when the records carry it) for
       the response and time-to-event endpoints;
    2. response endpoints per subgroup (``compute_response_rows``);
    3. KM medians and curves per parameter and subgroup (``compute_time_to_event_rows``);
    4. MTD and DLT count from the dose-escalation mart when it exists
       (``compute_escalation_rows``);
    5. every row names its analysis population and flag (``response_population`` for the
       response and time-to-event rows), and for group rows the group source.
    """

    def tag(pop: str, population: tuple[str, str | None]) -> tuple:
        return (*population, group_source if pop != "OVERALL" else None)

    endpoints = compute_response_rows(_in_population(best), tag, response_population)
    tte_rows, curves = compute_time_to_event_rows(_in_population(tte), tag, response_population)
    endpoints += tte_rows
    if escalation is not None:
        endpoints += compute_escalation_rows(escalation, tag)
    return EndpointTables(endpoints=endpoints, curves=curves)
