"""The frames several sections share, read once per build from the marts by contract names.

``ReportData.subjects`` (dim_subject), ``best_response`` (fct_best_response) and
``assessments`` (fct_response_assessments) are normalised here so that the flow, efficacy
and safety sections agree on who is treated, in which group, and on which day.
"""

from __future__ import annotations

from functools import cached_property

import pandas as pd

from cfz_platform.report.marts import MartReader, as_bool

#: DM.ARMCD values of subjects who were screened but not enrolled.
NOT_ENROLLED_ARMS = {"SCRNFAIL", "NOTASSGN", "NOTTRT", ""}
#: The % change column of each response driver (fct_response_assessments.response_driver).
DRIVER_PCT_COLUMNS = {
    "SERUM": "serum_m_pct_change",
    "SERUM+URINE": "serum_m_pct_change",
    "URINE": "urine_m_pct_change",
    "FLC": "dflc_pct_change",
    "BMPC": "bmpc_pct_change",
}
SUBJECT_COLUMNS = [
    "usubjid",
    "group",
    "armcd",
    "first_dose_date",
    "last_dose_date",
    "maintenance_start_date",
    "death_date",
    "saffl",
    "is_eligible",
    "entered_maintenance",
    "respevalfl",
]
ASSESSMENT_COLUMNS = [
    "usubjid",
    "ady",
    "imwg_category",
    "is_confirmed",
    "response_driver",
    *dict.fromkeys(DRIVER_PCT_COLUMNS.values()),
]


def derive_driving_pct(a: pd.DataFrame) -> pd.Series:
    """% change from baseline of each assessment's driving parameter.

    Steps: per row, the column named by ``response_driver`` (SERUM and SERUM+URINE -> serum
    M-protein, URINE -> urine M-protein, FLC -> dFLC, BMPC -> marrow plasma cells); NaN for
    NONE or a null driver.
    """
    out = pd.Series(float("nan"), index=a.index, dtype=float)
    driver = a["response_driver"].astype("string").str.upper()
    for value, column in DRIVER_PCT_COLUMNS.items():
        rows = (driver == value).fillna(False).to_numpy(dtype=bool)
        out[rows] = pd.to_numeric(a.loc[rows, column], errors="coerce")
    return out


class ReportData:
    """Per-build cache of the frames several sections share (read once from the marts)."""

    def __init__(self, reader: MartReader) -> None:
        self.reader = reader

    @cached_property
    def dim_subject(self) -> pd.DataFrame:
        """marts.dim_subject, every column (the baseline table shows many of them); the
        columns ``subjects`` reads are checked first."""
        self.reader.require("marts", "dim_subject", SUBJECT_COLUMNS)
        return self.reader.table("marts", "dim_subject")

    @cached_property
    def subjects(self) -> pd.DataFrame:
        """dim_subject normalised: usubjid, group, flags as booleans, dates as Timestamps.

        Steps: 1. group = dim_subject.group, 'no group' when null; 2. treated = saffl
        (received any study drug); eligible = is_eligible; enrolled = DM.ARMCD not a
        screen-failure / not-assigned code; maintenance = entered_maintenance; respeval =
        respevalfl; 3. dates parsed.
        """
        d = self.dim_subject
        out = pd.DataFrame(
            {"usubjid": d["usubjid"], "group": d["group"].fillna("no group").astype(str)}
        )
        for name in ("first_dose_date", "last_dose_date", "maintenance_start_date", "death_date"):
            out[name] = pd.to_datetime(d[name])
        out["treated"] = as_bool(d["saffl"])
        out["eligible"] = as_bool(d["is_eligible"])
        out["enrolled"] = ~d["armcd"].fillna("").astype(str).str.upper().isin(NOT_ENROLLED_ARMS)
        out["maintenance"] = as_bool(d["entered_maintenance"])
        out["respeval"] = as_bool(d["respevalfl"])
        return out

    @cached_property
    def best_response(self) -> pd.DataFrame:
        """usubjid -> best_response (text, NE when null) from marts.fct_best_response."""
        b = self.reader.table("marts", "fct_best_response", ["usubjid", "best_response"])
        return b.assign(best_response=b["best_response"].fillna("NE").astype(str))

    @cached_property
    def assessments(self) -> pd.DataFrame:
        """Response assessments normalised: usubjid, day (ady), category (imwg_category),
        pct (% change of the driving parameter, ``derive_driving_pct``), is_confirmed."""
        a = self.reader.table("marts", "fct_response_assessments", ASSESSMENT_COLUMNS)
        return pd.DataFrame(
            {
                "usubjid": a["usubjid"],
                "day": pd.to_numeric(a["ady"], errors="coerce"),
                "category": a["imwg_category"].astype("string"),
                "pct": derive_driving_pct(a),
                "is_confirmed": as_bool(a["is_confirmed"]),
            }
        )
