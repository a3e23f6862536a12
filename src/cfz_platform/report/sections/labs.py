"""Lab toxicity shift (CTCAE v5), from marts.fct_lab_results."""

from __future__ import annotations

import pandas as pd
from markupsafe import Markup, escape
from psycopg import sql

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table
from cfz_platform.report.marts import Unavailable

SOURCE = "marts.fct_lab_results"
LAB_COLUMNS = ["usubjid", "lbtestcd", "lbdt", "ablfl", "btoxgrl", "atoxgrl", "btoxgrh", "atoxgrh"]
#: direction -> (baseline grade column, analysis grade column)
GRADE_COLUMNS = {"low": ("btoxgrl", "atoxgrl"), "high": ("btoxgrh", "atoxgrh")}
DIRECTION_LABELS = {"low": "low (hypo-)", "high": "high (hyper-)"}


def _shift_counts_query(labs: sql.Composable, subjects: sql.Composable | None) -> sql.Composable:
    """Subjects per test, direction, baseline grade and worst post-baseline grade.

    Steps (one pass over fct_lab_results; only the counts leave the database):
    1. per subject and test: the baseline grade (btoxgr*) and the worst grade of the
       post-baseline results (atoxgr*) in each direction. A result is post-baseline when it
       is not the baseline record (ablfl <> 'Y') and, when the subject's first dose is
       known, dated after it;
    2. one row per subject, test and direction; count the subjects per test, direction,
       baseline grade and worst grade (null: none);
    3. keep the tests and directions where some subject has a grade.

    ``labs`` and ``subjects`` are the qualified names of fct_lab_results and dim_subject
    (``MartReader.qualified``: the live marts or an analysis cut's); no ``subjects``: no
    first-dose condition.
    """

    def grade(c: str) -> sql.Composable:
        return sql.SQL("case when l.{c} ~ '^[0-9]+$' then l.{c}::int end").format(
            c=sql.Identifier(c)
        )

    join, after_first = sql.SQL(""), sql.SQL("true")
    if subjects is not None:
        join = sql.SQL("left join {} s on s.usubjid = l.usubjid").format(subjects)
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
        "from {labs} l {join} group by l.lbtestcd, l.usubjid), "
        "by_direction as ({by_direction}), "
        "counts as (select test, direction, base_grade, worst_grade, count(*) as n_subjects, "
        "bool_or(base_grade is not null or worst_grade is not null) "
        "over (partition by test, direction) as is_graded "
        "from by_direction group by 1, 2, 3, 4) "
        "select test, direction, base_grade, worst_grade, n_subjects from counts where is_graded"
    ).format(labs=labs, per_subject=per_subject, join=join, by_direction=by_direction)


def build_lab_shift(data: ReportData) -> Section:
    """Lab toxicity shift: baseline CTCAE grade vs worst post-baseline grade, per test.

    Steps: 1. in SQL, the subjects per test, direction, baseline grade (btoxgr*) and worst
    post-baseline grade (atoxgr*) (``_shift_counts_query``: at 10,000 subjects 3 million
    results become a few hundred counts in the database); 2. keep only what shifted, grouped
    by test (``derive_shift_rows``), and name the tests where nobody's grade rose.
    """
    r = data.reader
    r.require("marts", "fct_lab_results", LAB_COLUMNS)
    labs = r.qualified("marts", "fct_lab_results")
    source = f"{r.schema('marts')}.fct_lab_results"
    subjects = None
    if r.exists("marts", "dim_subject"):
        r.require("marts", "dim_subject", ["usubjid", "first_dose_date"])
        subjects = r.qualified("marts", "dim_subject")
    counts = r.frame(_shift_counts_query(labs, subjects))
    if counts.empty:
        if r.frame(sql.SQL("select 1 from {} limit 1").format(labs)).empty:
            raise Unavailable(f"{source} has no rows for this study")
        raise Unavailable(f"{source} has no CTCAE-graded results (no btoxgr*/atoxgr* values)")
    names = r.frame(
        sql.SQL("select lbtestcd, max(lbtest) as lbtest from {} group by lbtestcd").format(labs)
    )
    label = {
        code: f"{name} ({code})" if isinstance(name, str) and name else str(code)
        for code, name in zip(names["lbtestcd"], names["lbtest"], strict=True)
    }
    table, unchanged = derive_shift_rows(counts.assign(test=counts["test"].map(label)))
    items: list = [
        Table(
            table,
            "Subjects whose worst post-baseline CTCAE grade is higher than their baseline grade, "
            "per test and direction (baseline grade btoxgrl/btoxgrh, worst post-baseline "
            "atoxgrl/atoxgrh). A missing baseline counts as a shift when any grade ≥1 follows.",
        )
    ]
    if unchanged:
        items.append(
            Markup("<p data-no-shift>No subject's grade rose for: ")
            + escape(", ".join(unchanged))
            + Markup(".</p>")
        )
    return Section("lab-shift", "Lab toxicity shift (CTCAE v5)", SOURCE, items=items)


def compute_grade_text(value: object, missing: str) -> str:
    """A grade as a table shows it: 'grade 2', or ``missing`` for null."""
    return missing if value is None or pd.isna(value) else f"grade {int(value)}"


def derive_shift_rows(counts: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Only what shifted, grouped by test.

    Steps: 1. keep the (test, direction, baseline, worst) counts whose worst grade is higher
    than the baseline grade (a missing baseline: any worst grade >= 1); 2. sort by test,
    direction, baseline, worst; 3. name the test and direction on the first row of its group
    only; 4. list the graded test/directions where nobody shifted.
    """
    base = pd.to_numeric(counts["base_grade"], errors="coerce")
    worst = pd.to_numeric(counts["worst_grade"], errors="coerce")
    shifted = counts[(worst > base.fillna(0)) & worst.notna()].copy()
    shifted = shifted.assign(
        _base=pd.to_numeric(shifted["base_grade"], errors="coerce").fillna(-1),
        _worst=pd.to_numeric(shifted["worst_grade"], errors="coerce"),
    ).sort_values(["test", "direction", "_base", "_worst"])
    graded = counts[["test", "direction"]].drop_duplicates()
    moved = set(zip(shifted["test"], shifted["direction"], strict=True))
    unchanged = [
        f"{t} ({DIRECTION_LABELS.get(d, d)})"
        for t, d in sorted(zip(graded["test"], graded["direction"], strict=True))
        if (t, d) not in moved
    ]
    first = ~shifted.duplicated(["test", "direction"])
    table = pd.DataFrame(
        {
            "Test": shifted["test"].where(~shifted.duplicated(["test"]), ""),
            "Direction": shifted["direction"]
            .map(lambda d: DIRECTION_LABELS.get(d, d))
            .where(first, ""),
            "Baseline": shifted["base_grade"].map(lambda v: compute_grade_text(v, "missing")),
            "Worst post-baseline": shifted["worst_grade"].map(lambda v: compute_grade_text(v, "–")),
            "Subjects": shifted["n_subjects"].astype(int),
        }
    )
    return table.reset_index(drop=True), unchanged
