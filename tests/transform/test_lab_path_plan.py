"""The lab path's plans stay linear in the rows (issue 18: stg_sdtm__lb and fct_lab_results).

At 10,000 subjects the lab models grew faster than their rows. The causes were in the plans,
so the plans are what these tests read (EXPLAIN VERBOSE of each model's compiled full-build
SQL on a copy of the built default trial; the outputs themselves are checked by the marts,
versions and incremental tests, unchanged):
1. stg_sdtm__lb parses each number text once, in its lookup of distinct texts: the planner
   inlines a parsed value wherever it is referenced, and the number pattern ran about a
   dozen times per row (26 copies of it in the plan);
2. stg_sdtm__lb does not materialize its typed rows (a CTE read three times for issue_items
   wrote the whole table to temp files: 830 MB at 10,000 subjects);
3. fct_lab_results sorts its rows by subject, test and specimen once (the baseline grades
   were a second window over the graded rows, a second sort of the whole table);
4. CTCAE grading (macros/ctcae_grade.sql) finds term and variant once per distinct test,
   specimen and unit, not per row: the `distinct on` per row and direction sorted every
   input row with all its columns (453 MB external at 10,000 subjects);
5. fct_lab_results joins by hash, never by sort-merge on the md5 keys (the final merge join
   of the grades over three sorts on the key spilled 118, 175 and 134 MB at 10,000; its
   CTEs have no statistics, so the planner's estimates cannot be trusted to choose).
"""

from __future__ import annotations

import json
import re

import pytest

from cfz_platform.transform.dbt_runner import run_dbt, write_profiles

pytestmark = pytest.mark.slow

NUMBER_PATTERN = "([eE][-+]?[0-9]+)?$"  # the tail of macros/parsing.sql safe_numeric's pattern


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse: str) -> str:
    """This module's warehouse is a copy of the session's built default trial."""
    return trial_warehouse


def _pre_hook_settings(model: str) -> str:
    """The model's pre_hook statements (from the compiled manifest), to explain it as it runs."""
    manifest = json.loads((write_profiles() / "target" / "manifest.json").read_text())
    hooks = manifest["nodes"][f"model.cfz.{model}"]["config"]["pre-hook"]
    return "; ".join(hook["sql"] for hook in hooks)


def _explain(db, model_path: str, settings: str = "") -> str:
    compiled = write_profiles() / "target" / "compiled" / "cfz" / "models" / model_path
    sql = compiled.read_text()
    with db.transaction():
        if settings:
            db.execute(settings)
        rows = db.execute("explain (verbose) " + sql).fetchall()
    return "\n".join(r[0] for r in rows)


@pytest.fixture(scope="module")
def plans(db) -> dict[str, str]:
    """EXPLAIN VERBOSE of the compiled stg_sdtm__lb and fct_lab_results (full build)."""
    run_dbt(["compile", "--select", "stg_sdtm__lb", "fct_lab_results"])
    return {
        "stg": _explain(db, "staging/sdtm/stg_sdtm__lb.sql"),
        # fct_lab_results runs with its pre_hook's settings (jit, nested loops, merge joins)
        "fct": _explain(
            db, "marts/safety/fct_lab_results.sql", _pre_hook_settings("fct_lab_results")
        ),
    }


def test_staging_parses_each_number_text_once(plans):
    assert plans["stg"].count(NUMBER_PATTERN) == 1, (
        "the number pattern is evaluated in more than one place of stg_sdtm__lb's plan"
    )


def test_staging_does_not_materialize_its_rows(plans):
    assert "CTE typed" not in plans["stg"]


def test_lab_results_sort_once_by_subject_test_and_specimen(plans):
    group_sorts = re.findall(r"Sort Key: \S*usubjid, \S*lbtestcd, \S*lbspec\b", plans["fct"])
    assert len(group_sorts) == 1, group_sorts


def test_ctcae_looks_up_variants_per_combination_not_per_row(plans):
    per_row_sorts = re.findall(r"Sort Key: \S*ctcae_key, \S*direction\b", plans["fct"])
    assert per_row_sorts == [], per_row_sorts


def test_lab_results_join_by_hash_not_merge(plans):
    merge_joins = re.findall(r"Merge (?:\w+ )?Join", plans["fct"])
    assert merge_joins == [], merge_joins
