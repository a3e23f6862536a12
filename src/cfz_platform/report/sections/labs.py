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


def _shift_counts_query(join_first_dose: bool) -> sql.Composable:
    """Subjects per test, direction, baseline grade and worst post-baseline grade.

    Steps (one pass over fct_lab_results; only the counts leave the database):
    1. per subject and test: the baseline grade (btoxgr*) and the worst grade of the
       post-baseline results (atoxgr*) in each direction. A result is post-baseline when it
       is not the baseline record (ablfl <> 'Y') and, when the subject's first dose is
       known, dated after it;
    2. one row per subject, test and direction; count the subjects per test, direction,
       baseline grade and worst grade (null: none);
    3. keep the tests and directions where some subject has a grade.
    """

    def grade(c: str) -> sql.Composable:
        return sql.SQL("case when l.{c} ~ '^[0-9]+$' then l.{c}::int end").format(
            c=sql.Identifier(c)
        )

    join, after_first = sql.SQL(""), sql.SQL("true")
    if join_first_dose:
        join = sql.SQL("left join marts.dim_subject s on s.usubjid = l.usubjid")
        after_first = sql.SQL("(s.first_dose_date is null or l.lbdt > s.first_dose_date)")
    post = sql.SQL("coalesce(l.ablfl, '') <> 'Y' and {af}").format(af=after_first)
    per_subject = sql.SQL(", ").join(
        sql.SQL("max({b}) as {bn}, max({a}) filter (where {post}) as {an}").format(
            b=grade(b),
            a=grade(a),
            post=post,
            bn=sql.Identifier(f"base_{direction}"),
            an=sql.Identifier(f"worst_{direction}"),
        )
        for direction, (b, a) in GRADE_COLUMNS.items()
    )
    by_direction = sql.SQL(" union all ").join(
        sql.SQL(
            "select test, {dir} as direction, {bn} as base_grade, {an} as worst_grade "
            "from per_subject"
        ).format(
            dir=sql.Literal(direction),
            bn=sql.Identifier(f"base_{direction}"),
            an=sql.Identifier(f"worst_{direction}"),
        )
        for direction in GRADE_COLUMNS
    )
    return sql.SQL(
        "with per_subject as (select l.lbtestcd as test, {per_subject} "
        "from marts.fct_lab_results l {join} group by l.lbtestcd, l.usubjid), "
        "by_direction as ({by_direction}), "
        "counts as (select test, direction, base_grade, worst_grade, count(*) as n_subjects, "
        "bool_or(base_grade is not null or worst_grade is not null) "
        "over (partition by test, direction) as is_graded "
        "from by_direction group by 1, 2, 3, 4) "
        "select test, direction, base_grade, worst_grade, n_subjects from counts where is_graded"
    ).format(per_subject=per_subject, join=join, by_direction=by_direction)


def build_lab_shift(data: ReportData) -> Section:
    """Lab toxicity shift: baseline CTCAE grade vs worst post-baseline grade, per test.

    Steps: 1. in SQL, the subjects per test, direction, baseline grade (btoxgr*) and worst
    post-baseline grade (atoxgr*) (``_shift_counts_query``: at 10,000 subjects 3 million
    results become a few hundred counts in the database); 2. cross-tabulate them by baseline
    grade x worst grade for each graded test.
    """
    r = data.reader
    r.require("marts", "fct_lab_results", LAB_COLUMNS)
    with_dim = r.exists("marts", "dim_subject")
    if with_dim:
        r.require("marts", "dim_subject", ["usubjid", "first_dose_date"])
    counts = r.frame(_shift_counts_query(with_dim))
    if counts.empty:
        if r.frame("select 1 from marts.fct_lab_results limit 1").empty:
            raise Unavailable(f"{SOURCE} has no rows for this study")
        raise Unavailable(f"{SOURCE} has no CTCAE-graded results (no btoxgr*/atoxgr* values)")
    graded = counts.assign(
        base=counts["base_grade"].map(lambda v: "missing" if pd.isna(v) else f"{int(v)}"),
        worst=counts["worst_grade"].map(
            lambda v: "no post-baseline" if pd.isna(v) else f"{int(v)}"
        ),
    )
    table = (
        graded.groupby(["test", "direction", "base", "worst"])["n_subjects"]
        .sum()
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
