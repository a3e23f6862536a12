"""Safety: dose escalation (3+3, DLTs, MTD); adverse events are in adverse_events.py."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup, escape

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table
from cfz_platform.report.marts import as_bool

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


#: Study-level columns of fct_dose_escalation, repeated on every dose level's row.
STUDY_LEVEL_COLUMNS = ["mtd_status", "mtd_reason"]


def derive_escalation_table(e: pd.DataFrame) -> pd.DataFrame:
    """The 3+3 table without the study-level columns (``STUDY_LEVEL_COLUMNS``) that hold one
    value on every row: the MTD statement above the table says it once."""
    constant = [c for c in STUDY_LEVEL_COLUMNS if c in e and e[c].nunique(dropna=False) <= 1]
    return e.drop(columns=constant)


def build_dose_escalation(data: ReportData) -> Section:
    """The 3+3 table as built by the mart (``derive_escalation_table``), the MTD statement
    and the DLT listing."""
    data.reader.require("marts", "fct_dose_escalation", ["dose_level", "is_mtd", "mtd_reason"])
    e = data.reader.table("marts", "fct_dose_escalation").sort_values("dose_level")
    items: list = [
        Markup(f'<p class="headline" data-mtd>{escape(compute_mtd_statement(e))}</p>'),
        Table(
            derive_escalation_table(e),
            f"One row per dose level, as in {ESCALATION}; the MTD status and its reason are "
            "stated above the table.",
        ),
    ]
    if data.reader.exists("marts", "fct_adverse_events"):
        ae = data.reader.table(
            "marts", "fct_adverse_events", [*DLT_COLUMNS, "is_dlt"], allow_empty=True
        )
        listing = ae[as_bool(ae["is_dlt"])]
        if not listing.empty:
            items.append(Table(listing[DLT_COLUMNS], f"Dose-limiting toxicities ({AES}, is_dlt)."))
    return Section("dose-escalation", "Dose escalation, DLTs and MTD", ESCALATION, items=items)
