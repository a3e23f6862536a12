"""Subject flow (CONSORT) and baseline characteristics, from marts.dim_subject."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup, escape

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table, compute_median_range, compute_n_pct
from cfz_platform.report.marts import Unavailable
from cfz_platform.report.sections.eligibility import derive_criterion_label

ELIGIBILITY = "marts.fct_eligibility"
DISPOSITION = "marts.fct_disposition"
#: The CONSORT's note when no subject has the data this protocol's eligibility rules read.
NOT_ASSESSED = (
    "Eligibility was not assessed under this protocol: no subject has baseline myeloma data "
    "(M-protein, free light chains) for criteria E1-E7 to be applied to"
)
#: Baseline rows: (label, dim_subject column, kind, decimals); kind is "numeric" or "categorical".
#: A categorical level as the baseline table names it (booleans arrive as text here).
LEVEL_TEXT = {"True": "yes", "False": "no"}
#: Coded levels of one column, spelled out (DM.SEX: CDISC codes F, M, U, UNDIFFERENTIATED).
COLUMN_LEVEL_TEXT = {"sex": {"F": "female", "M": "male", "U": "unknown"}}
BASELINE_ROWS = [
    ("Age, years, median (range)", "age", "numeric", 0),
    ("Sex", "sex", "categorical", 0),
    ("Race", "race", "categorical", 0),
    ("Dose level", "doselvl", "categorical", 0),
    ("Cohort", "cohort", "categorical", 0),
    ("IMiD-containing regimen", "imid_regimen", "categorical", 0),
    ("ISS stage", "iss_stage", "categorical", 0),
    ("Measurable disease", "measurable_disease_type", "categorical", 0),
    ("β2-microglobulin, mg/L, median (range)", "baseline_b2m", "numeric", 1),
    ("Albumin, g/dL, median (range)", "baseline_albumin", "numeric", 1),
    ("Serum M-protein, g/dL, median (range)", "baseline_serum_m", "numeric", 1),
    ("Urine M-protein, mg/24 h, median (range)", "baseline_urine_m", "numeric", 0),
    ("Involved FLC, mg/dL, median (range)", "baseline_involved_flc", "numeric", 1),
]


#: dim_subject's baseline myeloma data; a study where every one is empty for every subject
#: has nothing this protocol's eligibility criteria (E1-E7) can be assessed on.
MYELOMA_BASELINE_COLUMNS = (
    "baseline_serum_m",
    "baseline_urine_m",
    "baseline_involved_flc",
    "measurable_disease_type",
)


def compute_eligibility_assessed(dim_subject: pd.DataFrame) -> bool:
    """Whether this protocol's eligibility was assessed in the study: some subject has
    baseline myeloma data (serum or urine M-protein, involved free light chain, or the type
    of measurable disease).

    Steps: 1. keep the columns of ``MYELOMA_BASELINE_COLUMNS`` the mart has (none: assessed,
    as before they existed); 2. assessed when any of them holds a value for any subject.
    """
    present = [c for c in MYELOMA_BASELINE_COLUMNS if c in dim_subject.columns]
    return not present or bool(dim_subject[present].notna().to_numpy().any())


def _exclusion_reasons(data: ReportData, ineligible: set[str]) -> str:
    """'<li>E3: bortezomib-resistant (...), not met: 1</li>...': the ineligible subjects by
    failed criterion (its id and, when the mart has it, its text) and status."""
    if not data.reader.exists("marts", "fct_eligibility"):
        return ""
    present = set(data.reader.columns("marts", "fct_eligibility"))
    e = data.reader.table(
        "marts",
        "fct_eligibility",
        [c for c in ("usubjid", "criterion_id", "criterion", "status") if c in present],
        allow_empty=True,
    )
    e = derive_criterion_label(e)
    failed = e[(e["status"].astype(str) != "met") & e["usubjid"].isin(ineligible)]
    counts = failed.groupby(["criterion_id", "status"])["usubjid"].nunique().reset_index()
    return "".join(
        f"<li>{escape(r['criterion_id'])}, {escape(str(r['status']).replace('_', ' '))}: "
        f"{r['usubjid']}</li>"
        for _, r in counts.iterrows()
    )


def compute_treatment_status(data: ReportData, treated: set[str]) -> dict[str, object] | None:
    """The treated subjects' end of treatment from fct_disposition (None before it exists).

    Steps: 1. keep the treated subjects' rows; 2. count DISCONTINUED by reason (DCTREAS,
    most frequent first), COMPLETED and ONGOING (a treated subject without a row is ongoing).
    """
    if not data.reader.exists("marts", "fct_disposition"):
        return None
    d = data.reader.table(
        "marts", "fct_disposition", ["usubjid", "eotstt", "dctreas"], allow_empty=True
    )
    d = d[d["usubjid"].isin(treated)]
    status = dict(zip(d["usubjid"], d["eotstt"].astype(str), strict=True))
    disc = d[d["eotstt"] == "DISCONTINUED"]
    reasons = disc["dctreas"].fillna("NOT GIVEN").value_counts()
    return {
        "discontinued": len(disc),
        "reasons": sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])),
        "completed": sum(1 for u in treated if status.get(u) == "COMPLETED"),
        "ongoing": sum(1 for u in treated if status.get(u, "ONGOING") == "ONGOING"),
    }


def _status_html(status: dict[str, object] | None, n_treated: int) -> list[str]:
    """The CONSORT's last row: the treated subjects' end of treatment, beside the flow (not
    under maintenance: every treated subject has one) -- a box of those still on treatment,
    and beside it those who discontinued (by reason) and those who completed."""
    if status is None:
        return []
    reasons = "".join(f"<li>{escape(str(r).capitalize())}: {n}</li>" for r, n in status["reasons"])
    return [
        f'<div class="cbox cend" data-stage="ongoing"><span class="clabel">Ongoing treatment</span>'
        f'<span class="cn">{status["ongoing"]}</span>'
        f'<span class="csub">end of treatment, of the {n_treated} treated</span></div>',
        '<div class="cside">'
        f'<div data-stage="discontinued">Discontinued treatment: {status["discontinued"]}'
        + (f"<ul>{reasons}</ul>" if reasons else "")
        + "</div>"
        f'<div data-stage="completed">Completed treatment: {status["completed"]}</div></div>',
    ]


def build_consort(data: ReportData) -> Section:
    """CONSORT-style flow: screened -> eligible -> enrolled -> treated -> maintenance ->
    treatment status.

    Steps: 1. count each stage from dim_subject's flags; 2. list the excluded at each
    step; 3. when fct_eligibility exists, break the ineligible down by failed criterion;
    4. split the treated by group (none when no subject has one); 5. when fct_disposition exists, the treated subjects who
    are still on treatment (ongoing), and beside them those who discontinued it (by reason)
    or completed it (``_status_html``). A study with no baseline myeloma data at all (e.g.
    the CDISC pilot; ``compute_eligibility_assessed``) was not assessed under this protocol's
    criteria: its eligible stage says so (``NOT_ASSESSED``), with no count and no failed
    criteria, and the screened who were not enrolled are counted beside it.
    """
    eligibility = compute_eligibility_assessed(data.dim_subject)
    return _consort_section(_flow_html(data, eligibility))


def _consort_section(html: list[str]) -> Section:
    return Section(
        "consort",
        "Subject flow (CONSORT)",
        "marts.dim_subject (is_eligible, armcd, saffl, entered_maintenance, baseline myeloma "
        f"measurements); exclusion reasons from {ELIGIBILITY}; treatment status from "
        f"{DISPOSITION} (eotstt, dctreas)",
        items=[Markup("".join(html))],
    )


def _flow_html(data: ReportData, eligibility: bool) -> list[str]:
    """The CONSORT boxes and side notes (``build_consort``'s steps); without ``eligibility``
    the eligible stage says it was not assessed under this protocol and the screened who
    were not enrolled are counted instead."""
    s = data.subjects
    screened = len(s)
    eligible = int(s["eligible"].sum())
    enrolled = int(s["enrolled"].sum())
    treated = int(s["treated"].sum())
    maint = int((s["maintenance"] & s["treated"]).sum())
    reasons = _exclusion_reasons(data, set(s.loc[~s["eligible"], "usubjid"])) if eligibility else ""
    by_group = s[s["treated"]].groupby("group")["usubjid"].count()
    # a study without this trial's groups (every subject 'no group') gets no split
    groups = " · ".join(
        f"group {escape(g)}: {n}"
        for g, n in by_group.items()
        if list(by_group.index) != ["no group"]
    )

    def box(label: str, n: int, key: str, extra: str = "") -> str:
        return (
            f'<div class="cbox" data-stage="{key}"><span class="clabel">{label}</span>'
            f'<span class="cn">{n}</span>{extra}</div>'
        )

    def side(text: str) -> str:
        return f'<div class="cside">{text}</div>'

    if eligibility:
        eligible_html = [
            side(
                f"Not eligible: {screened - eligible}"
                + (
                    f" (a subject may fail more than one criterion)<ul>{reasons}</ul>"
                    if reasons
                    else ""
                )
            ),
            box("Eligible", eligible, "eligible"),
            side(f"Eligible, not enrolled: {max(eligible - enrolled, 0)}"),
        ]
    else:
        eligible_html = [
            side(NOT_ASSESSED),
            '<div class="cbox" data-stage="eligible"><span class="clabel">Eligibility</span>'
            '<span class="cn">not assessed</span>'
            '<span class="csub">under this protocol</span></div>',
            side(f"Screened, not enrolled: {max(screened - enrolled, 0)}"),
        ]
    html = [
        '<div class="consort">',
        box("Screened", screened, "screened"),
        *eligible_html,
        box("Enrolled", enrolled, "enrolled"),
        side(f"Enrolled, not treated: {max(enrolled - treated, 0)}"),
        box("Treated", treated, "treated", f'<span class="csub">{groups}</span>'),
        side(f"No maintenance: {treated - maint}"),
        box("Entered maintenance", maint, "maintenance"),
        *_status_html(compute_treatment_status(data, set(s.loc[s["treated"], "usubjid"])), treated),
        "</div>",
    ]
    return html


def build_baseline(data: ReportData) -> Section:
    """Baseline characteristics of the treated subjects, by group and overall.

    Steps: 1. take treated subjects (enrolled when none were treated); 2. for each row of
    ``BASELINE_ROWS``, a median (range) or n (%) per group (coded levels spelled out:
    ``COLUMN_LEVEL_TEXT``, ``LEVEL_TEXT``); 3. one column per group plus Total.
    """
    data.reader.require("marts", "dim_subject", [column for _, column, _, _ in BASELINE_ROWS])
    d = data.dim_subject.copy()
    s = data.subjects
    d["_group"] = s["group"].to_numpy()
    pop = d[s["treated"].to_numpy()] if s["treated"].any() else d[s["enrolled"].to_numpy()]
    if pop.empty:
        raise Unavailable("no treated or enrolled subjects in marts.dim_subject")
    cols = {g: pop[pop["_group"] == g] for g in sorted(pop["_group"].unique())}
    cols["Total"] = pop
    rows: list[tuple[str, dict[str, str]]] = [("N", {g: str(len(f)) for g, f in cols.items()})]
    for label, c, kind, digits in BASELINE_ROWS:
        if kind == "numeric":
            rows.append((label, {g: compute_median_range(f[c], digits) for g, f in cols.items()}))
            continue
        for lvl in sorted(pop[c].dropna().astype(str).unique()):
            rows.append(
                (
                    f"{label}: {COLUMN_LEVEL_TEXT.get(c, LEVEL_TEXT).get(lvl, lvl)}",
                    {
                        g: compute_n_pct(int((f[c].astype(str) == lvl).sum()), len(f))
                        for g, f in cols.items()
                    },
                )
            )
        if pop[c].isna().any():
            rows.append(
                (
                    f"{label}: missing",
                    {g: compute_n_pct(int(f[c].isna().sum()), len(f)) for g, f in cols.items()},
                )
            )
    table = pd.DataFrame([{"Characteristic": label, **vals} for label, vals in rows])
    table.columns = ["Characteristic"] + [c if c == "Total" else f"Group {c}" for c in cols]
    return Section(
        "baseline",
        "Baseline characteristics by group",
        "marts.dim_subject",
        items=[Table(table, "Treated subjects; n (%) or median (range).")],
    )
