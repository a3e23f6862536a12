"""Concomitant medications: on-study use by class and the new anti-myeloma therapy listing
(marts.fct_concomitant_medications, domain.md 5)."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table, compute_n_pct
from cfz_platform.report.marts import as_bool

SECTION_ID = "con-meds"
TITLE = "Concomitant medications"
SOURCE = "marts.fct_concomitant_medications"
CM_COLUMNS = [
    "usubjid",
    "cmdecod",
    "cmclas",
    "cmcat",
    "cmstdtc",
    "cmendtc",
    "is_on_study",
    "is_new_anti_myeloma_therapy",
]


def derive_use_by_class(cm: pd.DataFrame, n_treated: int) -> pd.DataFrame:
    """On-study use per medication class: the drugs used (standard names, alphabetical),
    subjects n (% of treated) and records, most used first (then by class name)."""
    on = cm[as_bool(cm["is_on_study"])]
    counts = (
        on.groupby("cmclas")
        .agg(
            drugs=("cmdecod", lambda d: ", ".join(sorted(set(d.dropna().astype(str))))),
            subjects=("usubjid", "nunique"),
            records=("usubjid", "size"),
        )
        .reset_index()
        .sort_values(["subjects", "cmclas"], ascending=[False, True])
    )
    return pd.DataFrame(
        {
            "Medication class": counts["cmclas"],
            "Drugs": counts["drugs"],
            "Subjects, n (% of treated)": [compute_n_pct(n, n_treated) for n in counts["subjects"]],
            "Records": counts["records"],
        }
    )


def derive_new_therapy_listing(cm: pd.DataFrame) -> pd.DataFrame:
    """Every new anti-myeloma therapy record, by subject and start date."""
    new = cm[as_bool(cm["is_new_anti_myeloma_therapy"])].sort_values(
        ["usubjid", "cmstdtc", "cmdecod"]
    )
    return pd.DataFrame(
        {
            "Subject": new["usubjid"],
            "Drug": new["cmdecod"],
            "Class": new["cmclas"],
            "Category": new["cmcat"],
            "Start": new["cmstdtc"],
            "End": new["cmendtc"],
        }
    )


def build_concomitant_medications(data: ReportData) -> Section:
    """On-study use by class (of the treated subjects) and the new anti-myeloma therapies.

    Steps: 1. treated = dim_subject rows with a first dose; 2. on-study records by class;
    3. the listing of new anti-myeloma therapy (or a line saying there is none).
    """
    cm = data.reader.table("marts", "fct_concomitant_medications", CM_COLUMNS)
    subjects = data.reader.table("marts", "dim_subject", ["usubjid", "first_dose_date"])
    n_treated = int(subjects["first_dose_date"].notna().sum())
    items: list = []
    by_class = derive_use_by_class(cm, n_treated)
    if by_class.empty:
        items.append(Markup('<p class="headline">No on-study concomitant medication.</p>'))
    else:
        items.append(
            Table(
                by_class,
                f"On-study use by class, {n_treated} treated subjects (supportive care and "
                "anti-myeloma therapy alike): a record other than prior myeloma therapy "
                "started from the first dose to 30 days after the last, or started before "
                "(or with no start date) and not ended by the first dose.",
            )
        )
    listing = derive_new_therapy_listing(cm)
    if listing.empty:
        items.append(Markup('<p class="headline">No new anti-myeloma therapy started.</p>'))
    else:
        items.append(
            Table(
                listing,
                "New anti-myeloma therapy: an anti-myeloma drug, not prior therapy, started "
                "after the first study dose.",
                css="data listing",
            )
        )
    return Section(SECTION_ID, TITLE, SOURCE, items=items)
