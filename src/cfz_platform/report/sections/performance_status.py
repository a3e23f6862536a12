"""ECOG performance status of the treated subjects, from marts.fct_performance_status.

Baseline ECOG and the worst after the first dose, by group, and the shift table of baseline
against worst on study. Denominators are the treated subjects (dim_subject.saffl); a treated
subject without a row in the mart counts as missing at baseline and on study.
"""

from __future__ import annotations

import pandas as pd

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table, compute_n_pct, compute_population_columns
from cfz_platform.report.labels import ECOG_LABELS
from cfz_platform.report.marts import Unavailable

TITLE = "ECOG performance status"
SOURCE = (
    "marts.fct_performance_status (ecog_baseline, ecog_worst_post, ecog_shift), marts.dim_subject"
)
COLUMNS = ["usubjid", "ecog_baseline", "ecog_worst_post", "ecog_shift"]
GRADES = sorted(ECOG_LABELS)
SHIFT_LABELS = {"worsened": "Worsened", "unchanged": "Unchanged", "improved": "Improved"}
NO_BASELINE = "Missing"
NO_POST = "No assessment after first dose"


def derive_treated_ecog(data: ReportData) -> pd.DataFrame:
    """The treated subjects with their group, baseline and worst on-study ECOG and shift.

    Steps: 1. read fct_performance_status (Unavailable when missing or empty); 2. left-join
    it onto the treated subjects of dim_subject, so a treated subject without a row is
    missing; 3. grades as nullable integers; 4. Unavailable when no treated subject has any
    ECOG value (a study that does not collect it: a table of zeros says nothing).
    """
    ecog = data.reader.table("marts", "fct_performance_status", COLUMNS)
    treated = data.subjects.loc[data.subjects["treated"], ["usubjid", "group"]]
    if treated.empty:
        raise Unavailable("no treated subjects in marts.dim_subject")
    out = treated.merge(ecog, on="usubjid", how="left")
    for column in ("ecog_baseline", "ecog_worst_post"):
        out[column] = pd.to_numeric(out[column], errors="coerce").astype("Int64")
    if out[["ecog_baseline", "ecog_worst_post"]].isna().all(axis=None):
        raise Unavailable(
            "marts.fct_performance_status has no ECOG value for any treated subject "
            "(no RS ECOG records in this study)"
        )
    return out


def derive_ecog_summary(ecog: pd.DataFrame) -> pd.DataFrame:
    """Baseline, worst on study and change, n (%) per group and in total.

    Steps: 1. columns from ``compute_population_columns``; 2. 'Baseline' rows: each grade
    0-4 and missing; 3. 'Worst on study' rows: each grade and no assessment after the first
    dose; 4. 'Change, baseline to worst' rows: worsened, unchanged, improved, and not
    evaluable (either value missing); 5. the time point named on its block's first row only.
    """
    columns = compute_population_columns(ecog)
    by_subject = ecog.set_index("usubjid")

    def row(timepoint: str, level: str, chosen: pd.Series) -> dict:
        hits = set(chosen[chosen].index)
        return {
            "Time point": timepoint,
            "ECOG": level,
            **{name: compute_n_pct(len(hits & ids), len(ids)) for name, ids in columns.items()},
        }

    base, worst = by_subject["ecog_baseline"], by_subject["ecog_worst_post"]
    shift = by_subject["ecog_shift"].astype("string")
    rows = [row("Baseline", ECOG_LABELS[g], (base == g).fillna(False)) for g in GRADES]
    rows.append(row("", NO_BASELINE, base.isna()))
    rows += [row("Worst on study", ECOG_LABELS[g], (worst == g).fillna(False)) for g in GRADES]
    rows.append(row("", NO_POST, worst.isna()))
    rows += [
        row("Change, baseline to worst", label, (shift == value).fillna(False))
        for value, label in SHIFT_LABELS.items()
    ]
    rows.append(row("", "Not evaluable (a value missing)", shift.isna()))
    table = pd.DataFrame(rows)
    table["Time point"] = table["Time point"].where(~table["Time point"].duplicated(), "")
    return table


def derive_ecog_shift_table(ecog: pd.DataFrame) -> pd.DataFrame:
    """Subjects by baseline ECOG (rows) and worst ECOG on study (columns).

    Steps: 1. rows: grades 0-4, then missing baseline when any; 2. columns: worst grades
    0-4, no assessment after the first dose, total; 3. each cell counts subjects, the last
    row totals each column.
    """
    worst_cols = [(f"Worst {g}", g) for g in GRADES] + [(NO_POST, None)]
    base_rows = [(ECOG_LABELS[g], g) for g in GRADES]
    if ecog["ecog_baseline"].isna().any():
        base_rows.append((NO_BASELINE, None))

    def matches(series: pd.Series, value: int | None) -> pd.Series:
        return series.isna() if value is None else (series == value).fillna(False)

    rows = []
    for label, b in base_rows:
        at_base = ecog[matches(ecog["ecog_baseline"], b)]
        rows.append(
            {
                "Baseline ECOG": label,
                **{
                    name: int(matches(at_base["ecog_worst_post"], w).sum())
                    for name, w in worst_cols
                },
                "Total": len(at_base),
            }
        )
    table = pd.DataFrame(rows)
    total = {"Baseline ECOG": "Total", **table.drop(columns="Baseline ECOG").sum().to_dict()}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)


def build_performance_status(data: ReportData) -> Section:
    """ECOG at baseline and worst on study, by group, and the baseline x worst shift table.

    Steps: 1. the treated subjects' ECOG (``derive_treated_ecog``); 2. the by-group summary
    (``derive_ecog_summary``); 3. the shift table (``derive_ecog_shift_table``).
    """
    ecog = derive_treated_ecog(data)
    n = len(ecog)
    return Section(
        "performance-status",
        TITLE,
        SOURCE,
        items=[
            Table(
                derive_ecog_summary(ecog),
                "Treated subjects, n (% of the group's treated). Baseline: the last ECOG on or "
                "before the first dose; worst on study: the highest ECOG after it.",
            ),
            Table(
                derive_ecog_shift_table(ecog),
                f"Shift of ECOG from baseline (rows) to the worst on study (columns), "
                f"{n} treated subjects; cells count subjects. Higher ECOG is worse.",
                css="data shift",
            ),
        ],
    )
