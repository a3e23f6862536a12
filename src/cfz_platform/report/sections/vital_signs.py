"""Vital signs: weight and BSA over cycles, systolic blood pressure change by visit, and the
carfilzomib doses off the planned mg/m2 x BSA (marts.fct_vital_signs, marts.fct_cycle_bsa)."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table, compute_median_range
from cfz_platform.report.marts import as_bool

SECTION_ID = "vital-signs"
TITLE = "Vital signs, weight and body-surface area"
SOURCE = "marts.fct_vital_signs, marts.fct_cycle_bsa"
VS_COLUMNS = ["usubjid", "vstestcd", "vsdt", "visit", "aval", "base", "chg", "is_baseline"]
BSA_COLUMNS = [
    "usubjid",
    "cycle",
    "weight_kg",
    "bsa_m2",
    "dose_level_mg_m2",
    "planned_dose_mg",
    "dose_given_mg",
    "dose_difference_pct",
    "is_dose_off_bsa",
]


def derive_weight_bsa_by_cycle(bsa: pd.DataFrame) -> pd.DataFrame:
    """One row per cycle: subjects with a BSA, weight and BSA as median (range).

    Steps: 1. keep cycles with a BSA; 2. per cycle, count subjects and summarise weight (kg)
    and BSA (m2, two decimals).
    """
    known = bsa[bsa["bsa_m2"].notna()]
    rows = [
        {
            "Cycle": int(cycle),
            "Subjects": g["usubjid"].nunique(),
            "Weight, kg: median (range)": compute_median_range(g["weight_kg"]),
            "BSA, m²: median (range)": compute_median_range(g["bsa_m2"], digits=2),
        }
        for cycle, g in known.groupby("cycle", sort=True)
    ]
    return pd.DataFrame(rows)


def derive_sysbp_change_by_visit(vs: pd.DataFrame) -> pd.DataFrame:
    """Systolic blood pressure by visit: baseline, then each post-baseline visit with its
    change from baseline.

    Steps: 1. SYSBP records; 2. visits in time order (median day after the subject's first
    SYSBP record); 3. per visit: subjects, value and change (mmHg) as median (range); the
    baseline row summarises the baseline records.
    """
    bp = vs[vs["vstestcd"] == "SYSBP"].copy()
    if bp.empty:
        return pd.DataFrame()
    bp["vsdt"] = pd.to_datetime(bp["vsdt"])
    bp["day"] = (bp["vsdt"] - bp.groupby("usubjid")["vsdt"].transform("min")).dt.days
    base = bp[as_bool(bp["is_baseline"])]
    rows = [
        {
            "Visit": "Baseline",
            "Subjects": base["usubjid"].nunique(),
            "Systolic BP, mmHg: median (range)": compute_median_range(base["aval"], digits=0),
            "Change from baseline: median (range)": "–",
        }
    ]
    post = bp[bp["chg"].notna()]
    order = post.groupby("visit")["day"].median().sort_values(kind="stable").index
    for visit in order:
        g = post[post["visit"] == visit]
        rows.append(
            {
                "Visit": visit,
                "Subjects": g["usubjid"].nunique(),
                "Systolic BP, mmHg: median (range)": compute_median_range(g["aval"], digits=0),
                "Change from baseline: median (range)": compute_median_range(g["chg"], digits=0),
            }
        )
    return pd.DataFrame(rows)


def derive_dose_off_bsa_listing(bsa: pd.DataFrame) -> pd.DataFrame:
    """Cycles whose carfilzomib dose (mg) differs from the planned mg/m2 x BSA by more than
    10% (``is_dose_off_bsa``), by subject and cycle, with readable headers."""
    off = bsa[as_bool(bsa["is_dose_off_bsa"])].sort_values(["usubjid", "cycle"])
    return pd.DataFrame(
        {
            "Subject": off["usubjid"],
            "Cycle": off["cycle"].astype(int),
            "BSA (m²)": off["bsa_m2"].round(2),
            "Dose level (mg/m²)": off["dose_level_mg_m2"],
            "Planned dose (mg)": off["planned_dose_mg"].round(1),
            "Dose given (mg)": off["dose_given_mg"].round(1),
            "Difference (%)": off["dose_difference_pct"].round(1),
        }
    )


def build_vital_signs(data: ReportData) -> Section:
    """Weight and BSA per cycle, systolic BP change by visit, and the doses off BSA."""
    vs = data.reader.table("marts", "fct_vital_signs", VS_COLUMNS)
    bsa = data.reader.table("marts", "fct_cycle_bsa", BSA_COLUMNS, allow_empty=True)
    items: list = []
    by_cycle = derive_weight_bsa_by_cycle(bsa)
    if not by_cycle.empty:
        items.append(
            Table(
                by_cycle,
                "Weight (the latest on or before each cycle's day 1) and body-surface area "
                "(Mosteller: √(height cm × weight kg / 3600)) per carfilzomib cycle.",
            )
        )
    bp = derive_sysbp_change_by_visit(vs)
    if not bp.empty:
        items.append(
            Table(
                bp,
                "Systolic blood pressure by visit; baseline is the last value on or before "
                "the first study dose.",
            )
        )
    listing = derive_dose_off_bsa_listing(bsa)
    if listing.empty:
        items.append(
            Markup(
                '<p class="headline">No cycle’s carfilzomib dose differs from the planned '
                "mg/m² × BSA by more than 10%.</p>"
            )
        )
    else:
        items.append(
            Table(
                listing,
                "Cycles whose carfilzomib dose (mean per administration, mg) differs from the "
                "planned dose level × BSA by more than 10%.",
                css="data listing",
            )
        )
    return Section(SECTION_ID, TITLE, SOURCE, items=items)
