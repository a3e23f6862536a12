"""Study endpoints and Kaplan-Meier curves, from marts.rpt_study_endpoints and
marts.rpt_survival_curves (written by ``cfz_platform.stats`` after the dbt build; their
columns are fixed there and documented in dbt/models/marts/efficacy/_efficacy__models.yml)."""

from __future__ import annotations

import math

import pandas as pd
from markupsafe import Markup, escape

from cfz_platform.report import figures
from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table
from cfz_platform.report.labels import compute_display_number, compute_endpoint_label
from cfz_platform.report.marts import as_bool

ENDPOINTS = "marts.rpt_study_endpoints"
CURVES = "marts.rpt_survival_curves"
ENDPOINT_COLUMNS = [
    "endpoint",
    "population",
    "n_subjects",
    "n_count",
    "n_events",
    "n_censored",
    "estimate",
    "ci_lower",
    "ci_upper",
    "unit",
    "method",
    "note",
    "analysis_population",
    "population_flag",
    "group_source",
]
CURVE_COLUMNS = [
    "paramcd",
    "population",
    "time",
    "n_at_risk",
    "n_censored",
    "survival",
    "ci_lower",
    "ci_upper",
]
KM_TITLES = {
    "TTP": "Time to progression",
    "PFS": "Progression-free survival",
    "OS": "Overall survival",
    "PFSMAINT": "Progression-free survival from maintenance start",
}
#: Day 0 of each curve (domain.md 4: TTP, PFS and OS from the first study dose; maintenance
#: PFS from the first maintenance dose).
KM_ORIGINS = {
    "TTP": "first study dose",
    "PFS": "first study dose",
    "OS": "first study dose",
    "PFSMAINT": "first maintenance dose",
}
GROUP_SOURCE_TEXT = {
    "assigned": "the group as assigned (DM.ARMCD; setting endpoint_group_source = assigned)",
    "derived": "the group derived from the index regimen (setting endpoint_group_source = derived)",
}
GROUP_MISMATCH_COLUMNS = [
    "usubjid",
    "armcd",
    "group",
    "derived_group",
    "imid_regimen",
    "analysis_group",
]


def compute_endpoint_cell(row: pd.Series) -> str:
    """One endpoint value as a person reads it: '27/45 = 0.6 (0.443–0.743)', '113 d (87–288)'."""

    def num(v: object) -> str | None:
        return None if v is None or pd.isna(v) else compute_display_number(float(v))

    est, lo, hi = num(row.get("estimate")), num(row.get("ci_lower")), num(row.get("ci_upper"))
    ci = f" ({lo}–{hi})" if lo is not None and hi is not None else ""
    unit = str(row.get("unit") or "")
    if unit == "proportion":
        k, n = num(row.get("n_count")), num(row.get("n_subjects"))
        return f"{k}/{n} = {est}{ci}" if est is not None else "–"
    if unit == "days":
        events, cens = num(row.get("n_events")), num(row.get("n_censored"))
        value = f"{est} d{ci}" if est is not None else "not reached"
        return f"{value}; {events} events, {cens} censored"
    if unit == "count":
        k, n = num(row.get("n_count")), num(row.get("n_subjects"))
        return f"{k} of {n} evaluable" if n is not None else f"{k}"
    if est is None:
        return "not established" if str(row.get("endpoint")) == "MTD" else "–"
    return f"{est} {unit}".strip()


def compute_endpoint_population(row: pd.Series) -> str:
    """'response-evaluable (dim_subject.respevalfl)': the row's analysis_population and the
    dim_subject flag that defines it (population_flag); '' when the row names none."""
    pop, flag = row.get("analysis_population"), row.get("population_flag")
    if pop is None or pd.isna(pop):
        return ""
    return f"{pop} (dim_subject.{flag})" if flag is not None and pd.notna(flag) else str(pop)


def compute_population_label(value: object) -> str:
    """rpt_* population to a column / legend name: 'OVERALL' -> 'Overall', 'GROUP A' -> 'A'."""
    text = "Overall" if value is None or pd.isna(value) else str(value).strip()
    if text == "OVERALL":
        return "Overall"
    return text[len("GROUP ") :] if text.startswith("GROUP ") else text


def _group_items(data: ReportData, e: pd.DataFrame) -> list:
    """Which group the by-group columns use (group_source), and the subjects whose assigned
    and regimen-derived groups differ (dim_subject.group_mismatch)."""
    data.reader.require(
        "marts", "dim_subject", [*GROUP_MISMATCH_COLUMNS, "group_mismatch", "analysis_group_source"]
    )
    d = data.dim_subject
    # the by-group rows name it (group_source); without them, the setting dim_subject recorded
    sources = pd.concat([e["group_source"], d["analysis_group_source"]]).dropna()
    source = str(sources.iloc[0]) if not sources.empty else "assigned"
    text = GROUP_SOURCE_TEXT.get(source, source)
    items: list = [
        Markup(f'<p data-group-source="{escape(source)}">By-group columns use {escape(text)}.</p>')
    ]
    differ = d[as_bool(d["group_mismatch"])][GROUP_MISMATCH_COLUMNS].sort_values("usubjid")
    if differ.empty:
        items.append(
            Markup(
                "<p data-group-mismatch>No subject's assigned group (DM.ARMCD) differs from the "
                "group derived from the index regimen.</p>"
            )
        )
    else:
        items.append(
            Table(
                differ,
                f"{len(differ)} subject(s) whose assigned group (DM.ARMCD) differs from the "
                "group derived from the index regimen (domain.md 1); by-group results count "
                "them in analysis_group.",
            )
        )
    return items


def build_endpoints(data: ReportData) -> Section:
    """The study endpoints as the table states them, one row per endpoint, populations side by side.

    Steps: read marts.rpt_study_endpoints; render each value with its count and CI
    (``compute_endpoint_cell``); pivot subgroups (overall, groups) to columns; list each
    endpoint's analysis population (``compute_endpoint_population``), method and note once,
    under the table; say which group the by-group columns use and list the subjects whose
    assigned and regimen-derived groups differ.
    """
    e = data.reader.table("marts", "rpt_study_endpoints", ENDPOINT_COLUMNS)
    e = e.assign(
        value=e.apply(compute_endpoint_cell, axis=1),
        analysis_population=e.apply(compute_endpoint_population, axis=1),
    )
    order = list(dict.fromkeys(e["endpoint"]))
    pops = list(dict.fromkeys(e["population"]))
    wide = (
        e.pivot_table(index="endpoint", columns="population", values="value", aggfunc="first")
        .reindex(index=order, columns=pops)
        .reset_index()
        .fillna("–")
    )
    wide.columns = ["endpoint", *[compute_population_label(p) for p in pops]]
    wide["endpoint"] = wide["endpoint"].map(compute_endpoint_label)
    notes = (
        e.drop_duplicates("endpoint")[["endpoint", "analysis_population", "method", "note"]]
        .astype(object)
        .fillna("")
        .loc[lambda f: (f["analysis_population"] != "") | (f["method"] != "") | (f["note"] != "")]
        .rename(columns={"analysis_population": "population"})
        .assign(endpoint=lambda f: f["endpoint"].map(compute_endpoint_label))
    )
    items = [
        Table(
            wide,
            "Proportions: k/n = estimate (exact Clopper–Pearson 95% CI); medians: Kaplan–Meier "
            "median in days (95% CI, log-log). The protocol's ORR counts ≥ MR; the conventional "
            "ORR counts ≥ PR. ORR, best-response counts and medians count "
            "the response-evaluable subjects only; MTD and DLT count the DLT-evaluable subjects.",
        )
    ]
    if not notes.empty:
        items.append(
            Table(
                notes,
                "The population each endpoint counts (a flag of marts.dim_subject), and how it "
                "is derived (method and note columns of the table).",
            )
        )
    items.extend(_group_items(data, e))
    return Section("endpoints", "Study endpoints", ENDPOINTS, items=items)


def compute_at_risk(curve: pd.DataFrame, t: float) -> int:
    """Numbers at risk at time ``t`` from a KM table (``time``, ``at_risk`` ascending).

    Steps: the at-risk count of the first row at or after ``t``; zero when every row is
    earlier (everyone has had the event or been censored).
    """
    later = curve[curve["time"] >= t]
    return int(later["at_risk"].iloc[0]) if not later.empty else 0


def build_km(data: ReportData) -> Section:
    """Kaplan-Meier curves for TTP, PFS, OS and maintenance PFS with numbers at risk.

    Steps: 1. read rpt_survival_curves (paramcd TTP, PFS, OS and PFSMAINT); 2. per endpoint, draw one
    step curve per population (overall, groups) with its CI band; 3. numbers at risk on a
    regular grid of days, per population. Each curve names its time origin (``KM_ORIGINS``)
    and marks its censored subjects.
    """
    c = data.reader.table("marts", "rpt_survival_curves", CURVE_COLUMNS)
    curves_all = pd.DataFrame(
        {
            "endpoint": c["paramcd"],
            "group": c["population"].map(compute_population_label),
            **{
                name: pd.to_numeric(c[name])
                for name in ("time", "survival", "ci_lower", "ci_upper")
            },
            "at_risk": pd.to_numeric(c["n_at_risk"]),
            "censored": pd.to_numeric(c["n_censored"]).fillna(0),
        }
    )
    items: list = []
    for kind, title in KM_TITLES.items():
        curves = curves_all[curves_all["endpoint"] == kind]
        if curves.empty:
            items.append(
                Markup(
                    f'<div class="unavailable" data-part="{kind}">not available: '
                    f"{escape(title)}: no curve in {CURVES}</div>"
                )
            )
            continue
        origin = KM_ORIGINS[kind]
        items.append(
            figures.plot_km(
                curves,
                title,
                f"days since {origin}",
                f"Source: {CURVES} (paramcd {kind}). Time origin: the {origin}. Shaded: 95% "
                "CI; +: a censored subject.",
            )
        )
        tmax = float(curves["time"].max())
        step = max(30, int(math.ceil(tmax / 6 / 30.0)) * 30)
        grid = list(range(0, int(tmax) + 1, step))
        rows = []
        for group, sub in curves.groupby("group", sort=True):
            sub = sub.sort_values("time")
            rows.append({"Group": group, **{f"Day {t}": compute_at_risk(sub, t) for t in grid}})
        items.append(
            Table(
                pd.DataFrame(rows),
                f"Numbers at risk: {title} (days since the {origin}).",
                css="data atrisk",
            )
        )
    return Section("km", "Kaplan-Meier: TTP, PFS, OS and maintenance PFS", CURVES, items=items)
