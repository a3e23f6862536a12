"""Disposition: end of treatment and end of study with reasons, from marts.fct_disposition.

End of treatment counts the treated subjects (dim_subject.saffl); end of study the enrolled
ones (screen failures are in the CONSORT). A subject without a row in the mart is ongoing.
"""

from __future__ import annotations

import pandas as pd

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table, compute_n_pct, compute_population_columns
from cfz_platform.report.labels import DISPOSITION_STATUS_LABELS, compute_reason_label
from cfz_platform.report.marts import Unavailable

TITLE = "Disposition: end of treatment and end of study"
SOURCE = "marts.fct_disposition (eotstt, dctreas, eosstt, dcsreas), marts.dim_subject"
COLUMNS = ["usubjid", "eotstt", "dctreas", "eotdt", "eosstt", "dcsreas", "eosdt"]
#: (milestone label, status column, reason column, population flag of ReportData.subjects)
MILESTONES = [
    ("End of treatment", "eotstt", "dctreas", "treated"),
    ("End of study", "eosstt", "dcsreas", "enrolled"),
]
STATUS_ORDER = ["COMPLETED", "DISCONTINUED", "ONGOING"]


def derive_subject_disposition(data: ReportData) -> pd.DataFrame:
    """Every subject of dim_subject with group, flags and disposition.

    Steps: 1. read fct_disposition (Unavailable when missing or empty); 2. left-join it onto
    dim_subject's subjects; 3. a missing status is ONGOING.
    """
    d = data.reader.table("marts", "fct_disposition", COLUMNS)
    s = data.subjects[["usubjid", "group", "treated", "enrolled"]]
    out = s.merge(d, on="usubjid", how="left")
    for column in ("eotstt", "eosstt"):
        out[column] = out[column].fillna("ONGOING").astype(str)
    return out


def derive_disposition_rows(subjects: pd.DataFrame) -> pd.DataFrame:
    """End of treatment and end of study by status and reason, n (%) per group and total.

    Steps: per milestone (``MILESTONES``): 1. its population (treated, or enrolled);
    2. columns from ``compute_population_columns``; 3. a row per status (completed,
    discontinued, ongoing), and under discontinued a row per reason (most subjects first,
    then by name); 4. the milestone named on its first row only.
    """
    rows = []
    for milestone, status_col, reason_col, flag in MILESTONES:
        pop = subjects[subjects[flag]]
        if pop.empty:
            continue
        columns = compute_population_columns(pop)
        label = f"{milestone} ({'treated' if flag == 'treated' else 'enrolled'} subjects)"

        def row(status: str, reason: str, ids: set[str], _cols: dict = columns) -> dict:
            return {
                "Milestone": "",
                "Status": status,
                "Reason": reason,
                **{name: compute_n_pct(len(ids & p), len(p)) for name, p in _cols.items()},
            }

        block = []
        for status in STATUS_ORDER:
            chosen = pop[pop[status_col] == status]
            block.append(row(DISPOSITION_STATUS_LABELS[status], "", set(chosen["usubjid"])))
            if status != "DISCONTINUED":
                continue
            reasons = chosen[reason_col].map(compute_reason_label)
            n = reasons.value_counts()
            for reason in sorted(n.index, key=lambda r: (-n[r], r)):
                block.append(row("", reason, set(chosen.loc[reasons == reason, "usubjid"])))
        block[0]["Milestone"] = label
        rows += block
    return pd.DataFrame(rows)


def derive_discontinued_listing(subjects: pd.DataFrame) -> pd.DataFrame:
    """The subjects who discontinued treatment or the study: group (when the study has groups),
    and the status, reason and date of each end."""
    chosen = subjects[
        (subjects["treated"] & (subjects["eotstt"] == "DISCONTINUED"))
        | (subjects["enrolled"] & (subjects["eosstt"] == "DISCONTINUED"))
    ].sort_values("usubjid")

    def reason(status: pd.Series, reason: pd.Series) -> pd.Series:
        return reason.map(compute_reason_label).where(status == "DISCONTINUED", "")

    listing = pd.DataFrame(
        {
            "Subject": chosen["usubjid"],
            "Group": chosen["group"].replace({"no group": "–"}),
            "End of treatment": chosen["eotstt"]
            .map(DISPOSITION_STATUS_LABELS)
            .where(chosen["treated"], "not treated"),
            "Treatment reason": reason(chosen["eotstt"], chosen["dctreas"]),
            "Treatment ended": chosen["eotdt"],
            "End of study": chosen["eosstt"].map(DISPOSITION_STATUS_LABELS),
            "Study reason": reason(chosen["eosstt"], chosen["dcsreas"]),
            "Study ended": chosen["eosdt"],
        }
    )
    no_groups = (subjects["group"] == "no group").all()
    return listing.drop(columns="Group") if no_groups else listing


def build_disposition(data: ReportData) -> Section:
    """End of treatment and end of study with reasons by group, and the discontinued subjects.

    Steps: 1. each subject's disposition (``derive_subject_disposition``); 2. the by-group
    summary (``derive_disposition_rows``); 3. the listing of subjects who discontinued
    treatment or the study (``derive_discontinued_listing``).
    """
    subjects = derive_subject_disposition(data)
    table = derive_disposition_rows(subjects)
    if table.empty:
        raise Unavailable("no enrolled or treated subjects in marts.dim_subject")
    items: list = [
        Table(
            table,
            "n (% of the group's treated subjects for end of treatment, of its enrolled "
            "subjects for end of study); a subject without an end record is ongoing.",
        )
    ]
    listing = derive_discontinued_listing(subjects)
    if not listing.empty:
        items.append(
            Table(
                listing,
                f"{len(listing)} subject(s) who discontinued treatment or the study "
                f"(reasons as recorded, DS.DSDECOD).",
                css="data listing",
            )
        )
    return Section("disposition", TITLE, SOURCE, items=items)
