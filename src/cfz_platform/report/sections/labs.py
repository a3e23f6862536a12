"""Lab toxicity shift (CTCAE v5), from marts.fct_lab_results."""

from __future__ import annotations

import pandas as pd
from psycopg import sql

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table
from cfz_platform.report.marts import Unavailable

SOURCE = "marts.fct_lab_results"
LAB_COLUMNS = ["usubjid", "lbtestcd", "lbdt", "ablfl", "btoxgrl", "atoxgrl", "btoxgrh", "atoxgrh"]
#: direction -> (baseline grade column, analysis grade column)
GRADE_COLUMNS = {"low": ("btoxgrl", "atoxgrl"), "high": ("btoxgrh", "atoxgrh")}


def _per_subject_query(join_first_dose: bool) -> sql.Composable:
    """Per subject, test and direction: baseline grade and worst post-baseline grade.

    A result is post-baseline when it is not the baseline record (ablfl <> 'Y') and, when the
    subject's first dose is known, dated after it.
    """

    def grade(c: str) -> sql.Composable:
        return sql.SQL("case when l.{c} ~ '^[0-9]+$' then l.{c}::int end").format(
            c=sql.Identifier(c)
        )

    join, after_first = sql.SQL(""), sql.SQL("true")
    if join_first_dose:
        join = sql.SQL("left join marts.dim_subject s on s.usubjid = l.usubjid")
        after_first = sql.SQL("(s.first_dose_date is null or l.lbdt > s.first_dose_date)")
    return sql.SQL(" union all ").join(
        sql.SQL(
            "select l.lbtestcd as test, {dir} as direction, l.usubjid, max({b}) as base_grade, "
            "max({a}) filter (where coalesce(l.ablfl, '') <> 'Y' and {af}) as worst_grade "
            "from marts.fct_lab_results l {join} group by 1, 2, 3"
        ).format(dir=sql.Literal(direction), b=grade(b), a=grade(a), af=after_first, join=join)
        for direction, (b, a) in GRADE_COLUMNS.items()
    )


def build_lab_shift(data: ReportData) -> Section:
    """Lab toxicity shift: baseline CTCAE grade vs worst post-baseline grade, per test.

    Steps: 1. in SQL, per subject, test and direction (low/high): the baseline grade
    (btoxgr*) and the worst grade of post-baseline results (atoxgr*, ``_per_subject_query``);
    2. cross-tabulate subjects by baseline grade x worst grade for each graded test.
    """
    r = data.reader
    r.require("marts", "fct_lab_results", LAB_COLUMNS)
    with_dim = r.exists("marts", "dim_subject")
    if with_dim:
        r.require("marts", "dim_subject", ["usubjid", "first_dose_date"])
    per_subject = r.frame(_per_subject_query(with_dim))
    if per_subject.empty:
        raise Unavailable(f"{SOURCE} has no rows for this study")
    graded = per_subject.groupby(["test", "direction"]).filter(
        lambda f: f["base_grade"].notna().any() or f["worst_grade"].notna().any()
    )
    if graded.empty:
        raise Unavailable(f"{SOURCE} has no CTCAE-graded results (no btoxgr*/atoxgr* values)")
    graded = graded.assign(
        base=graded["base_grade"].map(lambda v: "missing" if pd.isna(v) else f"{int(v)}"),
        worst=graded["worst_grade"].map(
            lambda v: "no post-baseline" if pd.isna(v) else f"{int(v)}"
        ),
    )
    table = (
        graded.groupby(["test", "direction", "base", "worst"])["usubjid"]
        .nunique()
        .unstack("worst", fill_value=0)
        .reset_index()
    )
    worst_cols = [c for c in ["0", "1", "2", "3", "4", "no post-baseline"] if c in table.columns]
    for g in ["0", "1", "2", "3", "4"]:
        if g not in table.columns:
            table[g] = 0
            worst_cols.append(g)
    worst_cols = sorted(worst_cols, key=lambda c: (not c.isdigit(), c))
    table = table[["test", "direction", "base", *worst_cols]]
    table.columns = [
        "Test",
        "Direction",
        "Baseline grade",
        *[f"Worst {c}" if c.isdigit() else c for c in worst_cols],
    ]
    table = table.sort_values(["Test", "Direction", "Baseline grade"])
    return Section(
        "lab-shift",
        "Lab toxicity shift (CTCAE v5)",
        SOURCE,
        items=[
            Table(
                table,
                "Subjects by baseline grade (btoxgrl/btoxgrh) and worst post-baseline grade "
                "(atoxgrl/atoxgrh), per test and direction.",
            )
        ],
    )
