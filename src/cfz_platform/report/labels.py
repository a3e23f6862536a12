"""What a reader sees instead of a column name, a code or a raw value.

Every report table passes through :func:`derive_display_frame` (``items.Table`` calls it), so
a committee member reads "DLT-evaluable", "ORR (≥ MR, protocol)", "Yes" and "–", never
``n_dlt_evaluable``, ``ORR_PROTOCOL``, ``True`` or ``None``.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd

#: Mart column -> the header a reader sees. Columns not listed get ``compute_column_label``.
COLUMN_LABELS = {
    "usubjid": "Subject",
    "dose_level": "Dose level (mg/m²)",
    "n_treated": "Treated",
    "n_dlt_evaluable": "DLT-evaluable",
    "n_with_dlt": "With a DLT",
    "decision": "3+3 decision",
    "next_dose_level": "Next dose level (mg/m²)",
    "is_mtd": "MTD",
    "mtd_status": "MTD status",
    "mtd_reason": "Reason",
    "aedecod": "Preferred term",
    "aebodsys": "System organ class",
    "aetoxgr": "Grade",
    "aestdtc": "Start",
    "aeendtc": "End",
    "aerel": "Relationship",
    "dlt_rule": "DLT rule",
    "armcd": "Arm (DM.ARMCD)",
    "group": "Group",
    "derived_group": "Group from index regimen",
    "imid_regimen": "IMiD in index regimen",
    "analysis_group": "Analysis group",
    "criterion_id": "Criterion",
    "criterion": "Description",
    "status": "Status",
    "evidence": "Evidence",
    "index_regimen_id": "Index regimen",
    "evidence_date_from": "Evidence from",
    "evidence_date_to": "Evidence to",
    "evidence_days": "Days",
    "met": "Met",
    "not_met": "Not met",
    "not_evaluable": "Not evaluable",
    "endpoint": "Endpoint",
    "population": "Population",
    "method": "Method",
    "note": "Note",
    "delivery_id": "Delivery",
    "files": "Files",
    "loaded": "Loaded",
    "quarantined": "Quarantined",
    "times_seen_again": "Times seen again",
    "rows_read": "Rows read",
    "rows_loaded": "Rows loaded",
    "rows_rejected": "Rows rejected",
    "rel_path": "File",
    "reason": "Reason",
    "rows": "Rows",
    "metric": "Metric",
    "value": "Value",
    "success": "Passed",
}

#: rpt_study_endpoints.endpoint -> its name in a table.
ENDPOINT_LABELS = {
    "ORR_PROTOCOL": "ORR, protocol (≥ MR)",
    "ORR_CONVENTIONAL": "ORR, conventional (≥ PR)",
    "BOR_SCR": "Best response sCR",
    "BOR_CR": "Best response CR",
    "BOR_VGPR": "Best response VGPR",
    "BOR_PR": "Best response PR",
    "BOR_MR": "Best response MR",
    "BOR_SD": "Best response SD",
    "BOR_PD": "Best response PD",
    "BOR_NE": "Best response not evaluable",
    "MEDIAN_TTP": "Median time to progression",
    "MEDIAN_PFS": "Median progression-free survival",
    "MEDIAN_OS": "Median overall survival",
    "MEDIAN_PFSMAINT": "Median PFS from maintenance start",
    "MEDIAN_DOR": "Median duration of response",
    "MTD": "Maximum tolerated dose",
    "DLT_COUNT": "Subjects with a DLT",
}

#: Coded values that a table spells out (fct_eligibility.status, fct_dose_escalation.decision).
VALUE_LABELS = {
    "not_met": "not met",
    "not_evaluable": "not evaluable",
}

#: ECOG performance status grades as the scale names them (fct_performance_status).
ECOG_LABELS = {
    0: "0 – fully active",
    1: "1 – restricted in strenuous activity",
    2: "2 – ambulatory, self-care, unable to work",
    3: "3 – limited self-care",
    4: "4 – completely disabled",
}
#: End-of-treatment / end-of-study statuses (fct_disposition.eotstt, eosstt).
DISPOSITION_STATUS_LABELS = {
    "COMPLETED": "Completed",
    "DISCONTINUED": "Discontinued",
    "ONGOING": "Ongoing",
}
#: fct_medical_history.mhbodsys values that are not a body system's name.
BODY_SYSTEM_LABELS = {"UNCODED": "Body system not coded"}

_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_LONG_DECIMAL = re.compile(r"(\d+\.\d*?[1-9]?)0{3,}\b")


def compute_display_number(value: float) -> str:
    """Floats in tables: at most three decimals, trailing zeros dropped (0.6667 -> '0.667')."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def compute_column_label(name: object) -> str:
    """A column's header: its entry in ``COLUMN_LABELS``, else a snake_case name spelled out
    ('n_subjects' -> 'N subjects'), else the name with a capital first letter."""
    text = str(name)
    if text in COLUMN_LABELS:
        return COLUMN_LABELS[text]
    words = text.replace("_", " ") if _SNAKE.match(text) else text
    return words[:1].upper() + words[1:]


def compute_endpoint_label(code: object) -> str:
    """An endpoint code as a reader names it (``ENDPOINT_LABELS``; unknown codes unchanged)."""
    return ENDPOINT_LABELS.get(str(code), str(code))


def compute_reason_label(reason: object) -> str:
    """A DSDECOD reason in sentence case ('PROGRESSIVE DISEASE' -> 'Progressive disease');
    'Not given' for null."""
    if reason is None or pd.isna(reason) or not str(reason).strip():
        return "Not given"
    return str(reason).strip().capitalize()


def compute_display_value(value: object) -> object:
    """One table cell as a reader reads it.

    Steps: 1. missing (None, NaN, NaT, pd.NA) -> '–'; 2. booleans -> 'Yes' / 'No';
    3. floats -> at most three decimals, trailing zeros dropped, whole numbers without a
    decimal point; 4. timestamps at midnight -> the date; 5. coded values (``VALUE_LABELS``)
    spelled out, and numbers inside text with long zero tails ('0.380000') trimmed;
    anything else unchanged.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return "–"
    if isinstance(value, bool | np.bool_):
        return "Yes" if value else "No"
    if isinstance(value, float):
        return "–" if math.isnan(value) else compute_display_number(value)
    if isinstance(value, dt.datetime):  # pd.Timestamp included
        midnight = value.time() == dt.time(0)
        return value.date().isoformat() if midnight else value.isoformat(" ", "minutes")
    if isinstance(value, str):
        if value in VALUE_LABELS:
            return VALUE_LABELS[value]
        return _LONG_DECIMAL.sub(lambda m: m.group(1).rstrip("."), value)
    return value


def derive_display_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as a reader sees it: headers from ``compute_column_label``, every cell
    through ``compute_display_value`` (an object frame, so no cell is re-typed)."""
    out = frame.astype(object).map(compute_display_value)
    out.columns = [compute_column_label(c) for c in frame.columns]
    return out
