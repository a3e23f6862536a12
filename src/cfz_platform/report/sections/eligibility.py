"""Eligibility failures, from marts.fct_eligibility."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table

SOURCE = "marts.fct_eligibility"
#: The listing's columns: the evidence text already names the dates, values and drugs, so
#: the listing fits the page without the mart's structured evidence columns.
LISTING_COLUMNS = ["usubjid", "criterion_id", "status", "evidence"]


def compute_criterion_label(row: pd.Series) -> str:
    """'E3: bortezomib-resistant (...)': the criterion's id and, when the mart has it, its text."""
    text = row.get("criterion")
    cid = str(row["criterion_id"])
    return f"{cid}: {text}" if isinstance(text, str) and text.strip() else cid


def derive_criterion_label(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (rows of fct_eligibility) with ``criterion_id`` replaced by its label
    (``compute_criterion_label``).

    Steps: 1. the distinct (criterion_id, criterion) pairs, a few dozen whatever the trial's
    size; 2. each pair's label; 3. mapped back onto every row by a left merge, in the frame's
    order (row by row it took 8 s of the report at 10,000 subjects).
    """
    keys = [c for c in ("criterion_id", "criterion") if c in frame.columns]
    pairs = frame[keys].drop_duplicates()
    pairs = pairs.assign(_label=[compute_criterion_label(r) for _, r in pairs.iterrows()])
    labelled = frame.merge(pairs, on=keys, how="left", sort=False)
    labelled.index = frame.index
    return labelled.assign(criterion_id=labelled.pop("_label"))


def build_eligibility(data: ReportData) -> Section:
    """Eligibility: counts per criterion and status, and the listing of every failure.

    Steps: 1. subjects per criterion_id and status; 2. every row whose status is not 'met'
    (not_met, not_evaluable), with its evidence, by subject and criterion (``LISTING_COLUMNS``:
    four columns, so it fits the page).
    """
    data.reader.require(
        "marts", "fct_eligibility", ["usubjid", "criterion_id", "status", "evidence"]
    )
    e = data.reader.table("marts", "fct_eligibility")
    described = derive_criterion_label(e)
    summary = described.pivot_table(
        index="criterion_id", columns="status", values="usubjid", aggfunc="count", fill_value=0
    ).reset_index()
    summary.columns.name = None
    failures = described[described["status"].astype(str) != "met"].sort_values(
        ["usubjid", "criterion_id"]
    )[LISTING_COLUMNS]
    items: list = [Table(summary, "Subjects per criterion and status.")]
    if failures.empty:
        items.append(
            Markup(
                '<p class="headline">No eligibility failures: every criterion met for every subject.</p>'
            )
        )
    else:
        items.append(
            Table(
                failures,
                "Every criterion not met or not evaluable, with its evidence.",
                css="data listing",
            )
        )
    return Section("eligibility", "Eligibility failures", SOURCE, items=items)
