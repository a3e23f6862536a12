"""Safety sections: dose escalation (3+3, DLTs, MTD) and adverse events by term and grade."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup, escape

from cfz_platform.report import figures
from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table, compute_n_pct
from cfz_platform.report.marts import Unavailable, as_bool, as_grade

ESCALATION = "marts.fct_dose_escalation"
AES = "marts.fct_adverse_events"
#: The DLT listing's columns (marts.fct_adverse_events).
DLT_COLUMNS = ["usubjid", "aedecod", "aetoxgr", "aestdtc", "aeendtc", "aerel", "dlt_rule"]


def compute_mtd_statement(e: pd.DataFrame) -> str:
    """'MTD: dose level 27 (reason)', or the mart's reason why no MTD is established.

    Steps: the first row flagged ``is_mtd`` names the MTD (with its ``mtd_reason``);
    without one, the mart's first ``mtd_reason``, else a generic 'not established'.
    """
    mtd = e[as_bool(e["is_mtd"])]
    if mtd.empty:
        reasons = e["mtd_reason"].dropna()
        return (
            str(reasons.iloc[0])
            if not reasons.empty
            else "MTD not established: no dose level has yet been exceeded with enough evaluable subjects."
        )
    statement = f"MTD: dose level {mtd['dose_level'].iloc[0]}"
    if pd.notna(mtd["mtd_reason"].iloc[0]):
        statement += f" ({mtd['mtd_reason'].iloc[0]})"
    return statement


def build_dose_escalation(data: ReportData) -> Section:
    """The 3+3 table as built by the mart, the MTD statement and the DLT listing."""
    data.reader.require("marts", "fct_dose_escalation", ["dose_level", "is_mtd", "mtd_reason"])
    e = data.reader.table("marts", "fct_dose_escalation").sort_values("dose_level")
    items: list = [
        Markup(f'<p class="headline" data-mtd>{escape(compute_mtd_statement(e))}</p>'),
        Table(e, f"One row per dose level, as in {ESCALATION}."),
    ]
    if data.reader.exists("marts", "fct_adverse_events"):
        ae = data.reader.table(
            "marts", "fct_adverse_events", [*DLT_COLUMNS, "is_dlt"], allow_empty=True
        )
        listing = ae[as_bool(ae["is_dlt"])]
        if not listing.empty:
            items.append(Table(listing[DLT_COLUMNS], f"Dose-limiting toxicities ({AES}, is_dlt)."))
    return Section("dose-escalation", "Dose escalation, DLTs and MTD", ESCALATION, items=items)


def build_adverse_events(data: ReportData) -> Section:
    """AE incidence by preferred term and worst grade among treatment-emergent AEs.

    Steps: 1. keep TEAEs (is_teae); 2. worst grade (aetoxgr) per subject and term (aedecod);
    3. count subjects per term and grade, with any-grade and grade >= 3 percentages of the
    treated subjects; 4. a stacked bar chart of the 15 most frequent terms.
    """
    ae = data.reader.table(
        "marts", "fct_adverse_events", ["usubjid", "aedecod", "aetoxgr", "is_teae"]
    )
    ae = ae[as_bool(ae["is_teae"])]
    if ae.empty:
        raise Unavailable(f"{AES} has no treatment-emergent adverse events")
    try:
        denom = int(data.subjects["treated"].sum())
    except Unavailable:
        denom = 0
    denom = denom or ae["usubjid"].nunique()
    ae = ae.assign(
        _grade=as_grade(ae["aetoxgr"]).fillna(0).astype(int),
        _term=ae["aedecod"].fillna("(no term)"),
    )
    worst = ae.groupby(["_term", "usubjid"])["_grade"].max().reset_index()
    counts = worst.pivot_table(
        index="_term", columns="_grade", values="usubjid", aggfunc="count", fill_value=0
    )
    counts["any"] = counts.sum(axis=1)
    counts = counts.sort_values(["any"], ascending=False)
    any_subj = ae.groupby("usubjid")["_grade"].max()
    rows = [
        {
            "Preferred term": "Any TEAE",
            "Any grade": compute_n_pct(len(any_subj), denom),
            **{f"Grade {g}": int((any_subj == g).sum()) for g in range(1, 6)},
            "Grade ≥3": compute_n_pct(int((any_subj >= 3).sum()), denom),
        }
    ]
    for t, r in counts.iterrows():
        rows.append(
            {
                "Preferred term": t,
                "Any grade": compute_n_pct(int(r["any"]), denom),
                **{f"Grade {g}": int(r.get(g, 0)) for g in range(1, 6)},
                "Grade ≥3": compute_n_pct(int(sum(r.get(g, 0) for g in (3, 4, 5))), denom),
            }
        )
    fig = figures.plot_ae_bars(
        counts.drop(columns="any").head(15),
        f"Source: {AES} (treatment-emergent); subjects counted once at their worst grade.",
    )
    return Section(
        "adverse-events",
        "Adverse events by term and grade",
        AES,
        items=[
            fig,
            Table(
                pd.DataFrame(rows),
                f"Subjects with a TEAE, by worst grade; % of {denom} treated subjects.",
            ),
        ],
    )
