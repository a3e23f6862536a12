"""The report's sections, one builder per section, each reading the marts it names.

A builder takes a :class:`ReportData` and returns a :class:`Section`; when its mart is
missing, empty or lacks a column it needs it raises :class:`Unavailable` and the caller
renders a "not available: <reason>" box instead (the CDISC pilot has no myeloma
endpoints, for example).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd
from markupsafe import Markup, escape

from cfz_platform.report import figures
from cfz_platform.report.marts import MartReader, Unavailable, as_bool, as_grade, pick

RESPONSE_RANK = {"sCR": 7, "CR": 6, "VGPR": 5, "PR": 4, "MR": 3, "SD": 2, "PD": 1, "NE": 0}
PR_OR_BETTER = {"sCR", "CR", "VGPR", "PR"}
NOT_ENROLLED_ARMS = {"SCRNFAIL", "NOTASSGN", "NOTTRT", ""}


def compute_display_number(value: float) -> str:
    """Floats in tables: at most three decimals, trailing zeros dropped (0.6667 -> '0.667')."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass
class Table:
    """A table item: a frame rendered as an escaped HTML table, with a caption."""

    frame: pd.DataFrame
    caption: str
    css: str = "data"

    def html(self) -> Markup:
        body = self.frame.to_html(index=False, escape=True, border=0, classes=self.css, na_rep="–",
                                  float_format=compute_display_number)
        return Markup(body)


@dataclass
class Section:
    """One report section: items are Markup, Table or figures.Figure, in display order."""

    id: str
    title: str
    source: str
    items: list = field(default_factory=list)
    unavailable: str | None = None


class ReportData:
    """Per-build cache of the frames several sections share (read once from the marts)."""

    def __init__(self, reader: MartReader) -> None:
        self.reader = reader

    @cached_property
    def dim_subject(self) -> pd.DataFrame:
        return self.reader.table("marts", "dim_subject")

    @cached_property
    def subjects(self) -> pd.DataFrame:
        """dim_subject normalised: usubjid, group, flags as booleans, dates as Timestamps.

        Steps: 1. pick the group column (``group`` or an alias) and fill missing with
        'no group'; 2. treated = first dose date present (or SAFFL); 3. eligibility,
        enrolment and maintenance flags as booleans; 4. dates parsed.
        """
        d = self.dim_subject
        src = "marts.dim_subject"
        out = pd.DataFrame({"usubjid": d[pick(d, "usubjid", source=src)]})
        gcol = pick(d, "group", "grp", "group_label", "trtgrp", "study_group", source=src, required=False)
        out["group"] = d[gcol].fillna("no group").astype(str) if gcol else "all"
        for name, cands in {
            "first_dose_date": ("first_dose_date", "trtsdt", "first_dose_dt"),
            "last_dose_date": ("last_dose_date", "trtedt", "last_dose_dt"),
            "maintenance_start_date": ("maintenance_start_date", "maint_start_date", "maintenance_start_dt"),
            "death_date": ("death_date", "dthdt"),
        }.items():
            col = pick(d, *cands, required=False)
            out[name] = pd.to_datetime(d[col]) if col else pd.NaT
        saf = pick(d, "saffl", "is_safety", required=False)
        out["treated"] = out["first_dose_date"].notna() | (as_bool(d[saf]) if saf else False)
        elig = pick(d, "is_eligible", "eligfl", required=False)
        out["eligible"] = as_bool(d[elig]) if elig else out["treated"]
        enr = pick(d, "is_enrolled", "enrolled", "enrlfl", required=False)
        arm = pick(d, "armcd", required=False)
        if enr:
            out["enrolled"] = as_bool(d[enr])
        elif arm:
            out["enrolled"] = ~d[arm].fillna("").astype(str).str.upper().isin(NOT_ENROLLED_ARMS)
        else:
            out["enrolled"] = out["eligible"] | out["treated"]
        maint = pick(d, "entered_maintenance", "maintfl", required=False)
        out["maintenance"] = as_bool(d[maint]) if maint else out["maintenance_start_date"].notna()
        resp = pick(d, "respevalfl", "is_response_evaluable", required=False)
        out["respeval"] = as_bool(d[resp]) if resp else out["treated"]
        return out

    @cached_property
    def best_response(self) -> pd.DataFrame:
        """usubjid -> best_response (text) from marts.fct_best_response."""
        b = self.reader.table("marts", "fct_best_response")
        src = "marts.fct_best_response"
        col = pick(b, "best_response", "bor", "avalc", source=src)
        return pd.DataFrame({"usubjid": b[pick(b, "usubjid", source=src)],
                             "best_response": b[col].fillna("NE").astype(str)})

    @cached_property
    def assessments(self) -> pd.DataFrame:
        """Response assessments normalised: usubjid, day, category, pct (driving parameter)."""
        a = self.reader.table("marts", "fct_response_assessments")
        src = "marts.fct_response_assessments"
        out = pd.DataFrame({"usubjid": a[pick(a, "usubjid", source=src)]})
        day = pick(a, "ady", "study_day", "assessment_day", "day", required=False)
        if day:
            out["day"] = pd.to_numeric(a[day], errors="coerce")
        else:
            dcol = pick(a, "adt", "assessment_date", "rsdt", "assessment_dt", "visit_date", source=src)
            first = self.subjects.set_index("usubjid")["first_dose_date"]
            dates = pd.to_datetime(a[dcol])
            out["day"] = (dates - out["usubjid"].map(first)).dt.days + 1
        cat = pick(a, "imwg_category", "category", "response", "imwg_response", "avalc", source=src)
        out["category"] = a[cat].astype("string")
        out["pct"] = compute_driving_pct(a, src)
        conf = pick(a, "is_confirmed", "confirmed", required=False)
        out["is_confirmed"] = as_bool(a[conf]) if conf else False
        return out


DRIVER_PCT_COLUMNS = {"SERUM": "serum_m_pct_change", "SERUM+URINE": "serum_m_pct_change",
                      "URINE": "urine_m_pct_change", "FLC": "dflc_pct_change", "BMPC": "bmpc_pct_change"}


def compute_driving_pct(a: pd.DataFrame, source: str) -> pd.Series:
    """% change from baseline of each assessment's driving parameter.

    Steps: 1. a single driving-parameter column when the mart has one; 2. otherwise pick,
    per row, the column named by ``response_driver`` (SERUM and SERUM+URINE -> serum M,
    URINE -> urine M, FLC -> dFLC, BMPC -> marrow plasma cells); 3. NaN when neither.
    """
    single = pick(a, "driving_pct_change", "driving_pchg", "pct_change_driving", source=source, required=False)
    if single:
        return pd.to_numeric(a[single], errors="coerce")
    driver = pick(a, "response_driver", "driving_parameter", source=source, required=False)
    out = pd.Series(float("nan"), index=a.index, dtype=float)
    if driver is None:
        return out
    for value, column in DRIVER_PCT_COLUMNS.items():
        if column in a.columns:
            rows = a[driver].astype(str).str.upper() == value
            out[rows] = pd.to_numeric(a.loc[rows, column], errors="coerce")
    return out


def _n_pct(n: int, total: int) -> str:
    return f"{n} ({100.0 * n / total:.0f}%)" if total else str(n)


def _median_range(values: pd.Series, digits: int = 1) -> str:
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return "–"
    return f"{v.median():.{digits}f} ({v.min():.{digits}f}–{v.max():.{digits}f})"


# --------------------------------------------------------------------------- sections


def build_consort(data: ReportData) -> Section:
    """CONSORT-style flow: screened -> eligible -> enrolled -> treated -> maintenance.

    Steps: 1. count each stage from dim_subject's flags; 2. list the excluded at each
    step; 3. when fct_eligibility exists, break the ineligible down by failed criterion;
    4. split the treated by group.
    """
    s = data.subjects
    screened = len(s)
    eligible = int(s["eligible"].sum())
    enrolled = int(s["enrolled"].sum())
    treated = int(s["treated"].sum())
    maint = int((s["maintenance"] & s["treated"]).sum())
    reasons = ""
    if data.reader.exists("marts", "fct_eligibility"):
        e = data.reader.table("marts", "fct_eligibility", allow_empty=True)
        if not e.empty:
            crit = pick(e, "criterion_id", "criterion", source="marts.fct_eligibility")
            status = pick(e, "status", "result", source="marts.fct_eligibility")
            failed = e[e[status].astype(str) != "met"]
            inel = set(s.loc[~s["eligible"], "usubjid"])
            failed = failed[failed["usubjid"].isin(inel)]
            counts = failed.groupby([crit, status])["usubjid"].nunique().reset_index()
            reasons = "".join(
                f"<li>{escape(r[crit])} {escape(str(r[status]).replace('_', ' '))}: {r['usubjid']}</li>"
                for _, r in counts.iterrows()
            )
    by_group = s[s["treated"]].groupby("group")["usubjid"].count()
    groups = " · ".join(f"group {escape(g)}: {n}" for g, n in by_group.items())

    def box(label: str, n: int, key: str, extra: str = "") -> str:
        return (f'<div class="cbox" data-stage="{key}"><span class="clabel">{label}</span>'
                f'<span class="cn">{n}</span>{extra}</div>')

    def side(text: str) -> str:
        return f'<div class="cside">{text}</div>'

    html = ['<div class="consort">',
            box("Screened", screened, "screened"),
            side(f"Not eligible: {screened - eligible}" + (f"<ul>{reasons}</ul>" if reasons else "")),
            box("Eligible", eligible, "eligible"),
            side(f"Eligible, not enrolled: {max(eligible - enrolled, 0)}"),
            box("Enrolled", enrolled, "enrolled"),
            side(f"Enrolled, not treated: {max(enrolled - treated, 0)}"),
            box("Treated", treated, "treated", f'<span class="csub">{groups}</span>'),
            side(f"No maintenance: {treated - maint}"),
            box("Entered maintenance", maint, "maintenance"),
            "</div>"]
    return Section("consort", "Subject flow (CONSORT)",
                   "marts.dim_subject (flags is_eligible, first dose, entered_maintenance); "
                   "exclusion reasons from marts.fct_eligibility",
                   items=[Markup("".join(html))])


def build_baseline(data: ReportData) -> Section:
    """Baseline characteristics of the treated subjects, by group and overall.

    Steps: 1. take treated subjects (enrolled when none were treated); 2. for each
    characteristic present in dim_subject, a median (range) or n (%) per group;
    3. one column per group plus Total.
    """
    d = data.dim_subject.copy()
    s = data.subjects
    d["_group"] = s["group"].to_numpy()
    pop = d[s["treated"].to_numpy()] if s["treated"].any() else d[s["enrolled"].to_numpy()]
    if pop.empty:
        raise Unavailable("no treated or enrolled subjects in marts.dim_subject")
    cols = {g: pop[pop["_group"] == g] for g in sorted(pop["_group"].unique())}
    cols["Total"] = pop
    rows: list[tuple[str, dict[str, str]]] = [("N", {g: str(len(f)) for g, f in cols.items()})]

    def numeric(label: str, *cands: str, digits: int = 1) -> None:
        c = pick(pop, *cands, required=False)
        if c:
            rows.append((label, {g: _median_range(f[c], digits) for g, f in cols.items()}))

    def categorical(label: str, *cands: str) -> None:
        c = pick(pop, *cands, required=False)
        if not c:
            return
        levels = sorted(pop[c].dropna().astype(str).unique())
        for lvl in levels:
            rows.append((f"{label}: {lvl}", {g: _n_pct(int((f[c].astype(str) == lvl).sum()), len(f))
                                             for g, f in cols.items()}))
        missing = pop[c].isna().sum()
        if missing:
            rows.append((f"{label}: missing", {g: _n_pct(int(f[c].isna().sum()), len(f))
                                               for g, f in cols.items()}))

    numeric("Age, years, median (range)", "age", digits=0)
    categorical("Sex", "sex")
    categorical("Race", "race")
    categorical("Dose level", "doselvl", "dose_level")
    categorical("Cohort", "cohort")
    categorical("IMiD-containing regimen", "imid_regimen")
    categorical("ISS stage", "iss_stage")
    categorical("Measurable disease", "measurable_disease_type")
    numeric("β2-microglobulin, mg/L, median (range)", "baseline_b2m")
    numeric("Albumin, g/dL, median (range)", "baseline_albumin")
    numeric("Serum M-protein, g/dL, median (range)", "baseline_serum_m", "baseline_spep")
    numeric("Urine M-protein, mg/24 h, median (range)", "baseline_urine_m", "baseline_upep", digits=0)
    numeric("Involved FLC, mg/dL, median (range)", "baseline_iflc", "baseline_involved_flc")
    table = pd.DataFrame([{"Characteristic": label, **vals} for label, vals in rows])
    table.columns = ["Characteristic"] + [c if c == "Total" else f"Group {c}" for c in cols]
    return Section("baseline", "Baseline characteristics by group", "marts.dim_subject",
                   items=[Table(table, "Treated subjects; n (%) or median (range).")])


def build_dose_escalation(data: ReportData) -> Section:
    """The 3+3 table as built by the mart, the MTD statement and the DLT listing."""
    e = data.reader.table("marts", "fct_dose_escalation")
    src = "marts.fct_dose_escalation"
    level = pick(e, "dose_level", "doselvl", "dose_mg_m2", "dose", source=src)
    mtd_col = pick(e, "is_mtd", source=src)
    e = e.sort_values(level)
    mtd = e[as_bool(e[mtd_col])]
    reason = pick(e, "mtd_reason", required=False)
    if mtd.empty:
        statement = (str(e[reason].iloc[0]) if reason and e[reason].notna().any() else
                     "MTD not established: no dose level has yet been exceeded with enough evaluable subjects.")
    else:
        statement = f"MTD: dose level {mtd[level].iloc[0]}"
        if reason and pd.notna(mtd[reason].iloc[0]):
            statement += f" ({mtd[reason].iloc[0]})"
    items: list = [Markup(f'<p class="headline" data-mtd>{escape(statement)}</p>'),
                   Table(e, "One row per dose level, as in marts.fct_dose_escalation.")]
    if data.reader.exists("marts", "fct_adverse_events"):
        ae = data.reader.table("marts", "fct_adverse_events", allow_empty=True)
        dlt = pick(ae, "is_dlt", required=False)
        if dlt and not ae.empty:
            listing = ae[as_bool(ae[dlt])]
            keep = [c for c in ("usubjid", "aedecod", "grade", "aetoxgr", "aestdtc", "aeendtc", "aerel",
                                "dlt_rule") if c in listing.columns]
            items.append(Table(listing[keep], "Dose-limiting toxicities (marts.fct_adverse_events, is_dlt)."))
    return Section("dose-escalation", "Dose escalation, DLTs and MTD", src, items=items)


# Per-subject figures stay readable (and cheap to draw) on large cohorts: above these sizes
# they show a fixed selection of subjects and say so; waterfall and KM always use everyone.
MAX_SWIMMER_LANES = 60
MAX_SPIDER_LINES = 300


def compute_display_subjects(usubjids: pd.Series, limit: int) -> set[str]:
    """The subjects a per-subject figure shows: all of them up to ``limit``, else a fixed
    pseudo-random selection.

    Steps: 1. all subjects when there are at most ``limit``; 2. otherwise rank subjects by
    the md5 of their USUBJID (stable across runs and machines, independent of order and of
    outcome) and keep the first ``limit``.
    """
    ids = [str(u) for u in pd.unique(usubjids)]
    if len(ids) <= limit:
        return set(ids)
    return set(sorted(ids, key=lambda u: hashlib.md5(u.encode()).hexdigest())[:limit])


def _shown_note(shown: int, total: int) -> str:
    if shown >= total:
        return ""
    return (f" Showing {shown:,} of {total:,} subjects (a fixed selection by a hash of USUBJID, "
            "not by outcome); every subject is in the source tables.")


def build_swimmer(data: ReportData) -> Section:
    """Swimmer plot: lanes from dim_subject, events from response assessments and ADTTE.

    Steps: 1. lane = first to last dose (days, ADaM +1) per treated subject; 2. marker at
    maintenance start; 3. first PR-or-better assessment; 4. PD = TTP event date from
    fct_time_to_event when present, else the first PD assessment; 5. death date.
    """
    s = data.subjects[data.subjects["treated"]].copy()
    if s.empty:
        raise Unavailable("no treated subjects in marts.dim_subject")
    s["days_on_treatment"] = (s["last_dose_date"].fillna(s["first_dose_date"]) - s["first_dose_date"]).dt.days + 1
    s["maintenance_day"] = (s["maintenance_start_date"] - s["first_dose_date"]).dt.days + 1
    events, note = [], None
    try:
        a = data.assessments
    except Unavailable as exc:  # time on treatment is still worth showing (e.g. a non-myeloma study)
        a = pd.DataFrame(columns=["usubjid", "day", "category"])
        note = Markup(f'<div class="unavailable" data-part="responses">not available: response markers: '
                      f'{escape(str(exc))}</div>')
    resp = a[a["category"].isin(PR_OR_BETTER)].groupby("usubjid")["day"].min()
    events += [{"usubjid": u, "day": d, "kind": "response"} for u, d in resp.items()]
    pd_days = _pd_days(data, a)
    events += [{"usubjid": u, "day": d, "kind": "PD"} for u, d in pd_days.items()]
    death = (s["death_date"] - s["first_dose_date"]).dt.days + 1
    events += [{"usubjid": u, "day": d, "kind": "death"} for u, d in zip(s["usubjid"], death, strict=False)
               if pd.notna(d)]
    ev = pd.DataFrame(events, columns=["usubjid", "day", "kind"])
    shown = compute_display_subjects(s["usubjid"], MAX_SWIMMER_LANES)
    fig = figures.plot_swimmer(s[s["usubjid"].isin(shown)], ev[ev["usubjid"].isin(shown)],
                               "Source: marts.dim_subject (dose dates, maintenance start, death), "
                               "marts.fct_response_assessments (responses), "
                               "marts.fct_time_to_event (PD dates)." + _shown_note(len(shown), len(s)))
    return Section("swimmer", "Swimmer plot", "marts.dim_subject, marts.fct_response_assessments, "
                   "marts.fct_time_to_event", items=[fig] + ([note] if note else []))


def _pd_days(data: ReportData, a: pd.DataFrame) -> pd.Series:
    if data.reader.exists("marts", "fct_time_to_event"):
        t = data.reader.table("marts", "fct_time_to_event", allow_empty=True)
        if not t.empty and {"paramcd", "cnsr", "aval"} <= set(t.columns):
            ttp = t[(t["paramcd"].astype(str) == "TTP") & (pd.to_numeric(t["cnsr"]) == 0)]
            return ttp.set_index("usubjid")["aval"].astype(float)
    return a[a["category"] == "PD"].groupby("usubjid")["day"].min()


def build_waterfall(data: ReportData) -> Section:
    """Waterfall: per subject, the lowest post-baseline % change of the driving parameter."""
    a = data.assessments
    post = a[(a["day"] > 1) & a["pct"].notna()]
    if post.empty:
        raise Unavailable("marts.fct_response_assessments has no post-baseline % change of a driving parameter")
    best = post.groupby("usubjid")["pct"].min().rename("best_pct").reset_index()
    try:
        br = data.best_response
    except Unavailable:
        br = pd.DataFrame({"usubjid": best["usubjid"], "best_response": "NE"})
    best = best.merge(br, on="usubjid", how="left").fillna({"best_response": "NE"})
    fig = figures.plot_waterfall(best, "Source: marts.fct_response_assessments (driving-parameter % change "
                                       "from baseline); colour: marts.fct_best_response.")
    return Section("waterfall", "Waterfall: best % change in M-protein",
                   "marts.fct_response_assessments, marts.fct_best_response", items=[fig])


def build_spider(data: ReportData) -> Section:
    """Spider plot of the driving parameter's % change over time, coloured by best response."""
    a = data.assessments
    series = a[a["pct"].notna() & a["day"].notna()][["usubjid", "day", "pct"]]
    if series.empty:
        raise Unavailable("marts.fct_response_assessments has no % change of a driving parameter")
    try:
        br = data.best_response
    except Unavailable:
        br = pd.DataFrame({"usubjid": series["usubjid"].unique(), "best_response": "NE"})
    series = series.merge(br, on="usubjid", how="left").fillna({"best_response": "NE"})
    subjects = series["usubjid"].drop_duplicates()
    shown = compute_display_subjects(subjects, MAX_SPIDER_LINES)
    fig = figures.plot_spider(series[series["usubjid"].isin(shown)],
                              "Source: marts.fct_response_assessments; colour: marts.fct_best_response."
                              + _shown_note(len(shown), len(subjects)))
    return Section("spider", "Spider plot", "marts.fct_response_assessments", items=[fig])


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


#: The population each endpoint family counts (domain.md 4), for marts that do not name it.
ENDPOINT_POPULATIONS = {"ORR": "response-evaluable", "BOR": "response-evaluable", "MEDIAN": "response-evaluable",
                        "MTD": "DLT-evaluable", "DLT": "DLT-evaluable"}
POPULATION_FLAGS = {"response-evaluable": "respevalfl", "DLT-evaluable": "dltevalfl"}
GROUP_SOURCE_TEXT = {
    "assigned": "the group as assigned (DM.ARMCD; setting endpoint_group_source = assigned)",
    "derived": "the group derived from the index regimen (setting endpoint_group_source = derived)",
}


def compute_endpoint_population(row: pd.Series) -> str:
    """'response-evaluable (dim_subject.respevalfl)' for one endpoint row.

    Steps: the row's analysis_population (and population_flag) when the mart names them;
    otherwise the population domain.md 4 assigns to the endpoint's family (ORR, BOR, KM
    medians: response-evaluable; MTD, DLT count: DLT-evaluable).
    """
    pop = row.get("analysis_population")
    if pop is None or pd.isna(pop):
        pop = ENDPOINT_POPULATIONS.get(str(row.get("endpoint")).split("_")[0])
    if pop is None:
        return ""
    flag = row.get("population_flag")
    flag = POPULATION_FLAGS.get(str(pop)) if flag is None or pd.isna(flag) else flag
    return f"{pop} (dim_subject.{flag})" if flag else str(pop)


def _group_items(data: ReportData, e: pd.DataFrame) -> list:
    """Which group the by-group columns use, and the subjects whose two groups differ."""
    source = None
    if "group_source" in e.columns and e["group_source"].notna().any():
        source = str(e["group_source"].dropna().iloc[0])
    d = data.dim_subject
    if source is None and "analysis_group_source" in d.columns and d["analysis_group_source"].notna().any():
        source = str(d["analysis_group_source"].dropna().iloc[0])
    source = source or "assigned"
    text = GROUP_SOURCE_TEXT.get(source, source)
    items: list = [Markup(f'<p data-group-source="{escape(source)}">By-group columns use {escape(text)}.</p>')]
    if "group_mismatch" in d.columns:
        keep = [c for c in ("usubjid", "armcd", "group", "derived_group", "imid_regimen", "analysis_group")
                if c in d.columns]
        differ = d[as_bool(d["group_mismatch"])][keep].sort_values("usubjid")
        if differ.empty:
            items.append(Markup("<p data-group-mismatch>No subject's assigned group (DM.ARMCD) differs from the "
                                "group derived from the index regimen.</p>"))
        else:
            items.append(Table(differ, f"{len(differ)} subject(s) whose assigned group (DM.ARMCD) differs from the "
                                       "group derived from the index regimen (domain.md 1); by-group results count "
                                       "them in analysis_group."))
    return items


def build_endpoints(data: ReportData) -> Section:
    """The study endpoints as the mart states them, one row per endpoint, populations side by side.

    Steps: read marts.rpt_study_endpoints; render each value with its count and CI
    (``compute_endpoint_cell``); pivot subgroups (overall, groups) to columns; list each
    endpoint's analysis population (``compute_endpoint_population``), method and note once,
    under the table; say which group the by-group columns use and list the subjects whose
    assigned and regimen-derived groups differ.
    """
    e = data.reader.table("marts", "rpt_study_endpoints")
    if e.empty:
        return Section("endpoints", "Study endpoints", "marts.rpt_study_endpoints",
                       unavailable="marts.rpt_study_endpoints is empty")
    e = e.assign(value=e.apply(compute_endpoint_cell, axis=1),
                 analysis_population=e.apply(compute_endpoint_population, axis=1))
    order = list(dict.fromkeys(e["endpoint"]))
    pops = list(dict.fromkeys(e["population"]))
    wide = (e.pivot_table(index="endpoint", columns="population", values="value", aggfunc="first")
              .reindex(index=order, columns=pops).reset_index().fillna("–"))
    wide.columns = ["endpoint", *[_population_label(p) for p in pops]]
    notes = (e.drop_duplicates("endpoint").reindex(columns=["endpoint", "analysis_population", "method", "note"])
               .astype(object).fillna("")
               .loc[lambda f: (f["analysis_population"] != "") | (f["method"] != "") | (f["note"] != "")]
               .rename(columns={"analysis_population": "population"}))
    items = [Table(wide, "Proportions: k/n = estimate (exact Clopper–Pearson 95% CI); medians: Kaplan–Meier "
                         "median in days (95% CI, log-log). ORR_PROTOCOL counts ≥ MR (the protocol's "
                         "definition); ORR_CONVENTIONAL counts ≥ PR. ORR, best-response counts and medians count "
                         "the response-evaluable subjects only; MTD and DLT count the DLT-evaluable subjects.")]
    if not notes.empty:
        items.append(Table(notes, "The population each endpoint counts (a flag of marts.dim_subject), and how it "
                                  "is derived (method and note columns of the mart)."))
    items.extend(_group_items(data, e))
    return Section("endpoints", "Study endpoints", "marts.rpt_study_endpoints", items=items)


def _endpoint_kind(value: object) -> str | None:
    key = "".join(ch for ch in str(value).upper() if ch.isalnum())
    if key == "TTP":
        return "TTP"
    if "PFS" in key:
        return "PFSMAINT"
    return None


def _population_label(value: object) -> str:
    """'OVERALL' -> 'Overall', 'GROUP A' -> 'A' (the legend's group names)."""
    text = "Overall" if value is None or pd.isna(value) else str(value).strip()
    if text.upper() in ("OVERALL", "ALL"):
        return "Overall"
    return text[6:].strip() if text.upper().startswith("GROUP ") else text


def compute_at_risk(curve: pd.DataFrame, t: float) -> int:
    """Numbers at risk at time ``t`` from a KM table (``time``, ``at_risk`` ascending).

    Steps: the at-risk count of the first row at or after ``t``; zero when every row is
    earlier (everyone has had the event or been censored).
    """
    later = curve[curve["time"] >= t]
    return int(later["at_risk"].iloc[0]) if not later.empty else 0


def build_km(data: ReportData) -> Section:
    """Kaplan-Meier curves for TTP and maintenance PFS with numbers at risk.

    Steps: 1. read rpt_survival_curves and map its endpoint labels to TTP / PFSMAINT;
    2. per endpoint, draw one step curve per group with its CI band; 3. numbers at risk on
    a regular grid of days, per group.
    """
    c = data.reader.table("marts", "rpt_survival_curves")
    src = "marts.rpt_survival_curves"
    norm = pd.DataFrame({
        "endpoint": c[pick(c, "endpoint", "paramcd", source=src)].map(_endpoint_kind),
        "group": c[pick(c, "group", "population", "grp", source=src)].map(_population_label),
        "time": pd.to_numeric(c[pick(c, "time", "timeline", "t", source=src)]),
        "at_risk": pd.to_numeric(c[pick(c, "at_risk", "n_at_risk", "n_risk", source=src)]),
        "survival": pd.to_numeric(c[pick(c, "survival", "surv", "km_estimate", source=src)]),
    })
    lo = pick(c, "ci_lower", "lower_ci", "ci_low", "lcl", required=False)
    hi = pick(c, "ci_upper", "upper_ci", "ci_high", "ucl", required=False)
    norm["ci_lower"] = pd.to_numeric(c[lo]) if lo else float("nan")
    norm["ci_upper"] = pd.to_numeric(c[hi]) if hi else float("nan")
    items: list = []
    titles = {"TTP": "Time to progression", "PFSMAINT": "Progression-free survival from maintenance start"}
    for kind, title in titles.items():
        curves = norm[norm["endpoint"] == kind]
        if curves.empty:
            items.append(Markup(f'<div class="unavailable" data-part="{kind}">not available: '
                                f'{escape(title)}: no curve in {src}</div>'))
            continue
        items.append(figures.plot_km(curves, title, f"Source: {src} (endpoint {kind}); shaded: 95% CI."))
        tmax = float(curves["time"].max())
        step = max(30, int(math.ceil(tmax / 6 / 30.0)) * 30)
        grid = list(range(0, int(tmax) + 1, step))
        rows = []
        for group, sub in curves.groupby("group", sort=True):
            sub = sub.sort_values("time")
            rows.append({"group": group, **{f"day {t}": compute_at_risk(sub, t) for t in grid}})
        items.append(Table(pd.DataFrame(rows), f"Numbers at risk: {title}.", css="data atrisk"))
    return Section("km", "Kaplan-Meier: TTP and maintenance PFS", src, items=items)


def build_adverse_events(data: ReportData) -> Section:
    """AE incidence by preferred term and worst grade among treatment-emergent AEs.

    Steps: 1. keep TEAEs; 2. worst grade per subject and term; 3. count subjects per
    term and grade, with any-grade and grade >= 3 percentages of the treated subjects;
    4. a stacked bar chart of the 15 most frequent terms.
    """
    ae = data.reader.table("marts", "fct_adverse_events")
    src = "marts.fct_adverse_events"
    term = pick(ae, "aedecod", "aeterm", source=src)
    grade = pick(ae, "grade", "aetoxgr", "atoxgr", source=src)
    teae = pick(ae, "is_teae", "trtemfl", required=False)
    if teae:
        ae = ae[as_bool(ae[teae])]
    if ae.empty:
        raise Unavailable(f"{src} has no treatment-emergent adverse events")
    try:
        denom = int(data.subjects["treated"].sum())
    except Unavailable:
        denom = 0
    denom = denom or ae["usubjid"].nunique()
    ae = ae.assign(_grade=as_grade(ae[grade]).fillna(0).astype(int), _term=ae[term].fillna("(no term)"))
    worst = ae.groupby(["_term", "usubjid"])["_grade"].max().reset_index()
    counts = worst.pivot_table(index="_term", columns="_grade", values="usubjid", aggfunc="count",
                               fill_value=0)
    counts["any"] = counts.sum(axis=1)
    counts = counts.sort_values(["any"], ascending=False)
    any_subj = ae.groupby("usubjid")["_grade"].max()
    rows = [{"Preferred term": "Any TEAE", "Any grade": _n_pct(len(any_subj), denom),
             **{f"Grade {g}": int((any_subj == g).sum()) for g in range(1, 6)},
             "Grade ≥3": _n_pct(int((any_subj >= 3).sum()), denom)}]
    for t, r in counts.iterrows():
        rows.append({"Preferred term": t, "Any grade": _n_pct(int(r["any"]), denom),
                     **{f"Grade {g}": int(r.get(g, 0)) for g in range(1, 6)},
                     "Grade ≥3": _n_pct(int(sum(r.get(g, 0) for g in (3, 4, 5))), denom)})
    fig = figures.plot_ae_bars(counts.drop(columns="any").head(15),
                               f"Source: {src} (treatment-emergent); subjects counted once at their worst grade.")
    return Section("adverse-events", "Adverse events by term and grade", src, items=[
        fig, Table(pd.DataFrame(rows), f"Subjects with a TEAE, by worst grade; % of {denom} treated subjects.")])


def build_lab_shift(data: ReportData) -> Section:
    """Lab toxicity shift: baseline CTCAE grade vs worst post-baseline grade, per test.

    Steps: 1. in SQL, per subject, test and direction (low/high): the baseline grade
    (btoxgr*) and the worst grade of post-baseline results (atoxgr* on rows not flagged
    baseline and dated after the first dose when the subject's first dose is known);
    2. cross-tabulate subjects by baseline grade x worst grade for each graded test.
    """
    from psycopg import sql

    r = data.reader
    src = "marts.fct_lab_results"
    cols = r.columns("marts", "fct_lab_results")
    if not cols:
        raise Unavailable(f"{src} has not been built in this warehouse")
    test = pick(cols, "lbtestcd", "paramcd", source=src)
    date = pick(cols, "lbdt", "adt", source=src)
    blfl = pick(cols, "is_baseline", "ablfl", "baseline_flag", source=src, required=False)
    grade_cols = {"low": (pick(cols, "btoxgrl", source=src), pick(cols, "atoxgrl", source=src)),
                  "high": (pick(cols, "btoxgrh", source=src), pick(cols, "atoxgrh", source=src))}

    def grade(c: str) -> sql.Composable:
        return sql.SQL("case when l.{c}::text ~ '^[0-9]+$' then l.{c}::text::int end").format(c=sql.Identifier(c))

    if blfl:
        not_base = sql.SQL("coalesce(upper(l.{b}::text) not in ('Y', 'TRUE', 'T', '1'), true)").format(
            b=sql.Identifier(blfl))
    else:
        not_base = sql.SQL("true")
    join, after_first = sql.SQL(""), sql.SQL("true")
    if r.exists("marts", "dim_subject") and "first_dose_date" in r.columns("marts", "dim_subject"):
        join = sql.SQL("left join marts.dim_subject s on s.usubjid = l.usubjid")
        after_first = sql.SQL("(s.first_dose_date is null or l.{d} > s.first_dose_date)").format(
            d=sql.Identifier(date))
    parts = [
        sql.SQL("select l.{t}::text as test, {dir} as direction, l.usubjid, max({b}) as base_grade, "
                "max({a}) filter (where {nb} and {af}) as worst_grade "
                "from marts.fct_lab_results l {join} group by 1, 2, 3").format(
            t=sql.Identifier(test), dir=sql.Literal(direction), b=grade(b), a=grade(a),
            nb=not_base, af=after_first, join=join)
        for direction, (b, a) in grade_cols.items()
    ]
    per_subject = r.frame(sql.SQL(" union all ").join(parts))
    if per_subject.empty:
        raise Unavailable(f"{src} has no rows for this study")
    graded = per_subject.groupby(["test", "direction"]).filter(
        lambda f: f["base_grade"].notna().any() or f["worst_grade"].notna().any())
    if graded.empty:
        raise Unavailable(f"{src} has no CTCAE-graded results (no btoxgr*/atoxgr* values)")
    graded = graded.assign(
        base=graded["base_grade"].map(lambda v: "missing" if pd.isna(v) else f"{int(v)}"),
        worst=graded["worst_grade"].map(lambda v: "no post-baseline" if pd.isna(v) else f"{int(v)}"))
    table = (graded.groupby(["test", "direction", "base", "worst"])["usubjid"].nunique()
             .unstack("worst", fill_value=0).reset_index())
    worst_cols = [c for c in ["0", "1", "2", "3", "4", "no post-baseline"] if c in table.columns]
    for g in ["0", "1", "2", "3", "4"]:
        if g not in table.columns:
            table[g] = 0
            worst_cols.append(g)
    worst_cols = sorted(worst_cols, key=lambda c: (not c.isdigit(), c))
    table = table[["test", "direction", "base", *worst_cols]]
    table.columns = ["Test", "Direction", "Baseline grade", *[f"Worst {c}" if c.isdigit() else c for c in worst_cols]]
    table = table.sort_values(["Test", "Direction", "Baseline grade"])
    return Section("lab-shift", "Lab toxicity shift (CTCAE v5)", src, items=[Table(
        table, "Subjects by baseline grade (btoxgrl/btoxgrh) and worst post-baseline grade "
               "(atoxgrl/atoxgrh), per test and direction.")])


def build_eligibility(data: ReportData) -> Section:
    """Eligibility: counts per criterion and status, and the listing of every failure."""
    e = data.reader.table("marts", "fct_eligibility")
    src = "marts.fct_eligibility"
    crit = pick(e, "criterion_id", "criterion", source=src)
    status = pick(e, "status", "result", source=src)
    summary = e.pivot_table(index=crit, columns=status, values="usubjid", aggfunc="count",
                            fill_value=0).reset_index()
    summary.columns.name = None
    failures = e[e[status].astype(str) != "met"].sort_values(["usubjid", crit])
    items: list = [Table(summary, "Subjects per criterion and status.")]
    if failures.empty:
        items.append(Markup('<p class="headline">No eligibility failures: every criterion met for every subject.</p>'))
    else:
        items.append(Table(failures, "Every criterion not met or not evaluable, with its evidence.",
                           css="data listing"))
    return Section("eligibility", "Eligibility failures", src, items=items)


def build_data_quality(data: ReportData) -> Section:
    """Data quality: deliveries loaded, rejects, semantic issues and quality-gate results.

    Steps: for each of audit.ingest_files, audit.ingest_rejects, audit.data_issues and
    audit.quality_results, a summary table, or a 'not available' line for that part; the
    section is unavailable only when all four are.
    """
    r = data.reader
    items: list = []
    missing = []

    def part(table: str, build) -> None:
        try:
            items.append(build(r.table("audit", table, allow_empty=True)))
        except Unavailable as exc:
            missing.append(str(exc))
            items.append(Markup(f'<div class="unavailable" data-part="{table}">not available: '
                                f'{escape(str(exc))}</div>'))

    def files(f: pd.DataFrame) -> Table:
        if f.empty:
            return Table(pd.DataFrame({"note": ["no files ingested yet"]}), "audit.ingest_files")
        f = f.assign(**{st: (f["status"] == st).astype(int) for st in ("loaded", "quarantined", "skipped_duplicate")})
        g = f.groupby("delivery_id").agg(
            files=("file_id", "count"), loaded=("loaded", "sum"), quarantined=("quarantined", "sum"),
            duplicates=("skipped_duplicate", "sum"), rows_read=("rows_read", "sum"),
            rows_loaded=("rows_loaded", "sum"), rows_rejected=("rows_rejected", "sum")).reset_index()
        return Table(g, "Files and rows per delivery (audit.ingest_files).")

    def rejects(f: pd.DataFrame) -> Table:
        if f.empty:
            return Table(pd.DataFrame({"note": ["no rejected rows"]}), "audit.ingest_rejects")
        g = (f.groupby(["rel_path", "reason"]).size().rename("rows").reset_index()
             .sort_values("rows", ascending=False).head(30))
        return Table(g, f"Rejected rows by file and reason (audit.ingest_rejects; {len(f)} in all).")

    def issues(f: pd.DataFrame) -> Table:
        if f.empty:
            return Table(pd.DataFrame({"note": ["no semantic issues"]}), "audit.data_issues")
        keys = [c for c in ("domain", "column_name", "issue") if c in f.columns]
        g = f.groupby(keys).size().rename("rows").reset_index().sort_values("rows", ascending=False).head(30)
        return Table(g, f"Rows kept out of the marts, by problem (audit.data_issues; {len(f)} in all).")

    def quality(f: pd.DataFrame) -> Table:
        if f.empty:
            return Table(pd.DataFrame({"note": ["no quality gate has run"]}), "audit.quality_results")
        ts = pick(f, "evaluated_at", "run_time", "created_at", "validated_at", "finished_at", required=False)
        suite = pick(f, "suite", "suite_name", "expectation_suite", required=False)
        if ts and suite:
            latest = f.groupby(suite)[ts].transform("max")
            f = f[f[ts] == latest]
        keys = [c for c in (suite, pick(f, "severity", required=False), pick(f, "success", required=False)) if c]
        g = f.groupby(keys).size().rename("expectations").reset_index() if keys else f.head(30)
        return Table(g, "Latest quality-gate results per suite (audit.quality_results).")

    part("ingest_files", files)
    part("ingest_rejects", rejects)
    part("data_issues", issues)
    part("quality_results", quality)
    if len(missing) == 4:
        raise Unavailable("no audit tables yet: " + "; ".join(missing))
    return Section("data-quality", "Data quality",
                   "audit.ingest_files, audit.ingest_rejects, audit.data_issues, audit.quality_results",
                   items=items)
