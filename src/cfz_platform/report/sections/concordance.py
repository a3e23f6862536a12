"""The two evaluators' concordance: the platform's IMWG response against the investigator's.

Read from marts.fct_response_assessments (imwg_category, the derived response of each
assessment; investigator_response, the investigator's overall response for it, as ADRS holds
them in OVR and INVOVR with AGREEFL).
"""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup, escape

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table

SOURCE = "marts.fct_response_assessments"
TITLE = "Response: the two evaluators' concordance"
#: IMWG categories, best first, with the words the table shows.
CATEGORY_LABELS: dict[str, str] = {
    "sCR": "Stringent complete response",
    "CR": "Complete response",
    "VGPR": "Very good partial response",
    "PR": "Partial response",
    "MR": "Minimal response",
    "SD": "Stable disease",
    "PD": "Progressive disease",
    "NE": "Not evaluable",
}
ROW_HEADER = "Derived response (IMWG, by the platform)"
TOTAL_LABEL = "Total"


def compute_agreement_text(n_agree: int, n_rated: int) -> str:
    """The agreement sentence: 'a of n assessments (p%)'; n = 0 says none was rated."""
    if n_rated == 0:
        return "No assessment carries an investigator's response."
    return (
        f"The two evaluators agree on {n_agree:,} of {n_rated:,} assessments "
        f"({100.0 * n_agree / n_rated:.1f}%)."
    )


def derive_concordance_table(pairs: pd.DataFrame) -> pd.DataFrame:
    """Cross-tab of the derived response (rows) by the investigator's (columns), labelled.

    Steps: 1. keep the categories either evaluator used, in IMWG order (a value outside
    the IMWG list is shown as sent, after them); 2. count assessments per (derived,
    investigator) pair, zeros included; 3. add row and column totals; 4. name rows and
    columns by their words (CATEGORY_LABELS), columns prefixed 'Investigator: '.
    """
    seen = set(pairs["derived"]) | set(pairs["investigator"])
    order = [c for c in CATEGORY_LABELS if c in seen] + sorted(seen - set(CATEGORY_LABELS))
    counts = (
        pd.crosstab(pairs["derived"], pairs["investigator"])
        .reindex(index=order, columns=order, fill_value=0)
        .astype(int)
    )
    counts[TOTAL_LABEL] = counts.sum(axis=1)
    counts.loc[TOTAL_LABEL] = counts.sum(axis=0)
    label = {c: CATEGORY_LABELS.get(c, c) for c in order}
    counts.index = [label.get(c, c) for c in counts.index]
    counts.columns = [
        f"Investigator: {label[c]}" if c in label else TOTAL_LABEL for c in counts.columns
    ]
    return counts.rename_axis(ROW_HEADER).reset_index()


def build_concordance(data: ReportData) -> Section:
    """Agreement count and cross-tab of the derived IMWG response by the investigator's.

    Steps: 1. read every assessment's derived category and the investigator's response;
    2. keep the assessments the investigator rated; 3. the agreement sentence (equal
    categories, as ADRS.AGREEFL); 4. the labelled cross-tab (``derive_concordance_table``).
    """
    a = data.reader.table(
        "marts", "fct_response_assessments", ["imwg_category", "investigator_response"]
    )
    pairs = pd.DataFrame(
        {
            "derived": a["imwg_category"].fillna("NE").astype(str),
            "investigator": a["investigator_response"],
        }
    ).dropna(subset=["investigator"])
    pairs["investigator"] = pairs["investigator"].astype(str)
    n_rated = len(pairs)
    n_agree = int((pairs["derived"] == pairs["investigator"]).sum())
    items: list = [
        Markup(
            f'<p data-agreement="{n_agree}/{n_rated}">'
            f"{escape(compute_agreement_text(n_agree, n_rated))} Each assessment the "
            "investigator rated is counted once; the diagonal is where both agree.</p>"
        )
    ]
    if n_rated:
        items.append(
            Table(
                derive_concordance_table(pairs),
                "Assessments by the derived response (rows) and the investigator's (columns).",
            )
        )
    return Section("concordance", TITLE, SOURCE, items=items)
