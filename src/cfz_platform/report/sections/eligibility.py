"""Eligibility failures, from marts.fct_eligibility."""

from __future__ import annotations

from markupsafe import Markup

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table

SOURCE = "marts.fct_eligibility"


def build_eligibility(data: ReportData) -> Section:
    """Eligibility: counts per criterion and status, and the listing of every failure.

    Steps: 1. subjects per criterion_id and status; 2. every row whose status is not 'met'
    (not_met, not_evaluable), with its evidence, by subject and criterion.
    """
    data.reader.require(
        "marts", "fct_eligibility", ["usubjid", "criterion_id", "status", "evidence"]
    )
    e = data.reader.table("marts", "fct_eligibility")
    summary = e.pivot_table(
        index="criterion_id", columns="status", values="usubjid", aggfunc="count", fill_value=0
    ).reset_index()
    summary.columns.name = None
    failures = e[e["status"].astype(str) != "met"].sort_values(["usubjid", "criterion_id"])
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
