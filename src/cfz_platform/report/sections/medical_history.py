"""Medical history at baseline, from marts.fct_medical_history.

Baseline conditions (started before the first dose, or start unknown) of the treated
subjects by body system and condition, n (%) per group. Denominators are the treated
subjects (dim_subject.saffl); each subject counts once per row.
"""

from __future__ import annotations

import pandas as pd

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table, compute_n_pct, compute_population_columns
from cfz_platform.report.labels import BODY_SYSTEM_LABELS
from cfz_platform.report.marts import Unavailable, as_bool

TITLE = "Medical history at baseline"
SOURCE = (
    "marts.fct_medical_history (mhbodsys, mhdecod, is_baseline, is_ongoing_at_baseline), "
    "marts.dim_subject"
)
#: The table's length, in rows, above which only the conditions of several subjects are listed.
MAX_ROWS = 80
COLUMNS = ["usubjid", "mhdecod", "mhterm", "mhbodsys", "is_baseline", "is_ongoing_at_baseline"]


def derive_baseline_conditions(data: ReportData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The treated subjects (usubjid, group) and their baseline conditions.

    Steps: 1. read fct_medical_history (Unavailable when missing or empty); 2. keep the
    treated subjects' baseline records (is_baseline); 3. name each record's body system
    (``BODY_SYSTEM_LABELS`` for 'UNCODED', 'Body system not sent' for null) and condition
    (MHDECOD, else the reported term).
    """
    mh = data.reader.table("marts", "fct_medical_history", COLUMNS)
    treated = data.subjects.loc[data.subjects["treated"], ["usubjid", "group"]]
    if treated.empty:
        raise Unavailable("no treated subjects in marts.dim_subject")
    mh = mh[mh["usubjid"].isin(set(treated["usubjid"])) & as_bool(mh["is_baseline"])]
    system = mh["mhbodsys"].fillna("Body system not sent").astype(str)
    return treated, mh.assign(
        _system=system.map(lambda s: BODY_SYSTEM_LABELS.get(s, s)),
        _condition=mh["mhdecod"].fillna(mh["mhterm"]).fillna("(no term)").astype(str),
        _ongoing=as_bool(mh["is_ongoing_at_baseline"]),
    )


def compute_min_subjects(mh: pd.DataFrame, max_rows: int = MAX_ROWS) -> int:
    """The fewest subjects a condition needs to get its own row, so the table stays within
    ``max_rows`` (1: every condition; body-system rows and the two 'any' rows always show).

    Steps: 1. subjects per (body system, condition); 2. the smallest k >= 1 for which the
    conditions with >= k subjects plus the fixed rows fit (at most the largest count)."""
    per_condition = mh.groupby(["_system", "_condition"])["usubjid"].nunique()
    fixed = 2 + mh["_system"].nunique()
    for k in range(1, int(per_condition.max()) + 1):
        if fixed + int((per_condition >= k).sum()) <= max_rows:
            return k
    return int(per_condition.max())


def derive_history_rows(
    treated: pd.DataFrame, mh: pd.DataFrame, min_subjects: int = 1
) -> pd.DataFrame:
    """Subjects with each baseline condition, by body system, n (%) per group and total.

    Steps: 1. columns from ``compute_population_columns``; 2. 'Any baseline condition' and
    'Any ongoing at baseline' first; 3. per body system (most subjects first, then by name)
    a row of the subjects with any condition in it; 4. under it its conditions with at
    least ``min_subjects`` subjects (most subjects first, then by name).
    """
    columns = compute_population_columns(treated)

    def row(system: str, condition: str, subjects: pd.Series) -> dict:
        ids = set(subjects)
        return {
            "Body system": system,
            "Condition": condition,
            **{name: compute_n_pct(len(ids & pop), len(pop)) for name, pop in columns.items()},
        }

    def by_size(frame: pd.DataFrame, key: str) -> list[str]:
        n = frame.groupby(key)["usubjid"].nunique()
        return sorted(n.index, key=lambda k: (-n[k], k))

    rows = [
        row("Any baseline condition", "", mh["usubjid"]),
        row("Any condition ongoing at baseline", "", mh.loc[mh["_ongoing"], "usubjid"]),
    ]
    for system in by_size(mh, "_system"):
        in_system = mh[mh["_system"] == system]
        rows.append(row(system, "All conditions", in_system["usubjid"]))
        for condition in by_size(in_system, "_condition"):
            subjects = in_system.loc[in_system["_condition"] == condition, "usubjid"]
            if subjects.nunique() >= min_subjects:
                rows.append(row("", condition, subjects))
    return pd.DataFrame(rows)


def build_medical_history(data: ReportData) -> Section:
    """Baseline conditions by body system and condition, n (%) by group.

    Steps: 1. the treated subjects' baseline records (``derive_baseline_conditions``);
    2. how many subjects a condition needs for its own row (``compute_min_subjects``: every
    condition unless the table would pass ``MAX_ROWS``); 3. the table
    (``derive_history_rows``), its caption saying what is not listed.
    """
    treated, mh = derive_baseline_conditions(data)
    if mh.empty:
        raise Unavailable(
            "marts.fct_medical_history has no baseline condition of a treated subject"
        )
    k = compute_min_subjects(mh)
    per_condition = mh.groupby(["_system", "_condition"])["usubjid"].nunique()
    hidden = int((per_condition < k).sum())
    omitted = (
        f" {hidden} conditions of fewer than {k} subjects each are counted in their body "
        f"system's 'All conditions' row only (the table lists at most {MAX_ROWS} rows)."
        if hidden
        else ""
    )
    return Section(
        "medical-history",
        TITLE,
        SOURCE,
        items=[
            Table(
                derive_history_rows(treated, mh, k),
                f"Conditions present at baseline (started before the first dose, or start "
                f"unknown) of the {len(treated)} treated subjects; each subject counted once "
                f"per row; n (% of the group's treated).{omitted}",
            )
        ],
    )
