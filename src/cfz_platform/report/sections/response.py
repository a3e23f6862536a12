"""Per-subject response figures: swimmer, waterfall and spider plots.

Read from marts.dim_subject (dose dates, maintenance start, death),
marts.fct_response_assessments (day, IMWG category, driving-parameter % change),
marts.fct_best_response (colour) and marts.fct_time_to_event (TTP event days).
"""

from __future__ import annotations

import hashlib

import pandas as pd
from markupsafe import Markup, escape

from cfz_platform.report import figures
from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section
from cfz_platform.report.marts import Unavailable

PR_OR_BETTER = {"sCR", "CR", "VGPR", "PR"}
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
    return (
        f" Showing {shown:,} of {total:,} subjects (a fixed selection by a hash of USUBJID, "
        "not by outcome); every subject is in the source tables."
    )


def _pd_days(data: ReportData, a: pd.DataFrame) -> pd.Series:
    """Study day of progression per subject: the TTP event (cnsr 0) of fct_time_to_event when
    that mart is built, else the first PD assessment."""
    if data.reader.exists("marts", "fct_time_to_event"):
        t = data.reader.table(
            "marts", "fct_time_to_event", ["usubjid", "paramcd", "cnsr", "aval"], allow_empty=True
        )
        if not t.empty:
            ttp = t[(t["paramcd"] == "TTP") & (pd.to_numeric(t["cnsr"]) == 0)]
            return ttp.set_index("usubjid")["aval"].astype(float)
    return a[a["category"] == "PD"].groupby("usubjid")["day"].min()


def _with_best_response(data: ReportData, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each subject's best_response (NE when fct_best_response has none)."""
    try:
        br = data.best_response
    except Unavailable:
        br = pd.DataFrame({"usubjid": frame["usubjid"].unique(), "best_response": "NE"})
    return frame.merge(br, on="usubjid", how="left").fillna({"best_response": "NE"})


def build_swimmer(data: ReportData) -> Section:
    """Swimmer plot: lanes from dim_subject, events from response assessments and ADTTE.

    Steps: 1. lane = first to last dose (days, ADaM +1) per treated subject; 2. marker at
    maintenance start; 3. first PR-or-better assessment; 4. PD = TTP event date from
    fct_time_to_event when present, else the first PD assessment; 5. death date.
    """
    s = data.subjects[data.subjects["treated"]].copy()
    if s.empty:
        raise Unavailable("no treated subjects in marts.dim_subject")
    s["days_on_treatment"] = (
        s["last_dose_date"].fillna(s["first_dose_date"]) - s["first_dose_date"]
    ).dt.days + 1
    s["maintenance_day"] = (s["maintenance_start_date"] - s["first_dose_date"]).dt.days + 1
    events, note = [], None
    try:
        a = data.assessments
    except (
        Unavailable
    ) as exc:  # time on treatment is still worth showing (e.g. a non-myeloma study)
        a = pd.DataFrame(columns=["usubjid", "day", "category"])
        note = Markup(
            f'<div class="unavailable" data-part="responses">not available: response markers: '
            f"{escape(str(exc))}</div>"
        )
    resp = a[a["category"].isin(PR_OR_BETTER)].groupby("usubjid")["day"].min()
    events += [{"usubjid": u, "day": d, "kind": "response"} for u, d in resp.items()]
    events += [{"usubjid": u, "day": d, "kind": "PD"} for u, d in _pd_days(data, a).items()]
    death = (s["death_date"] - s["first_dose_date"]).dt.days + 1
    events += [
        {"usubjid": u, "day": d, "kind": "death"}
        for u, d in zip(s["usubjid"], death, strict=False)
        if pd.notna(d)
    ]
    ev = pd.DataFrame(events, columns=["usubjid", "day", "kind"])
    shown = compute_display_subjects(s["usubjid"], MAX_SWIMMER_LANES)
    fig = figures.plot_swimmer(
        s[s["usubjid"].isin(shown)],
        ev[ev["usubjid"].isin(shown)],
        "Source: marts.dim_subject (dose dates, maintenance start, death), "
        "marts.fct_response_assessments (responses), "
        "marts.fct_time_to_event (PD dates)." + _shown_note(len(shown), len(s)),
    )
    return Section(
        "swimmer",
        "Swimmer plot",
        "marts.dim_subject, marts.fct_response_assessments, marts.fct_time_to_event",
        items=[fig] + ([note] if note else []),
    )


def build_waterfall(data: ReportData) -> Section:
    """Waterfall: per subject, the lowest post-baseline % change of the driving parameter."""
    a = data.assessments
    post = a[(a["day"] > 1) & a["pct"].notna()]
    if post.empty:
        raise Unavailable(
            "marts.fct_response_assessments has no post-baseline % change of a driving parameter"
        )
    best = _with_best_response(
        data, post.groupby("usubjid")["pct"].min().rename("best_pct").reset_index()
    )
    fig = figures.plot_waterfall(
        best,
        "Source: marts.fct_response_assessments (driving-parameter % change "
        "from baseline); colour: marts.fct_best_response.",
    )
    return Section(
        "waterfall",
        "Waterfall: best % change in M-protein",
        "marts.fct_response_assessments, marts.fct_best_response",
        items=[fig],
    )


def build_spider(data: ReportData) -> Section:
    """Spider plot of the driving parameter's % change over time, coloured by best response."""
    a = data.assessments
    series = a[a["pct"].notna() & a["day"].notna()][["usubjid", "day", "pct"]]
    if series.empty:
        raise Unavailable("marts.fct_response_assessments has no % change of a driving parameter")
    series = _with_best_response(data, series)
    subjects = series["usubjid"].drop_duplicates()
    shown = compute_display_subjects(subjects, MAX_SPIDER_LINES)
    fig = figures.plot_spider(
        series[series["usubjid"].isin(shown)],
        "Source: marts.fct_response_assessments; colour: marts.fct_best_response."
        + _shown_note(len(shown), len(subjects)),
    )
    return Section("spider", "Spider plot", "marts.fct_response_assessments", items=[fig])
