"""The report and its test fixture read the warehouse by the names the contracts fix.

- every column the report names exists in its table's dbt contract (no synonym guessing);
- the fixture's tables have exactly the contract's columns and types (it cannot drift);
- the endpoint writer (cfz_platform.stats.endpoints) writes the columns the YAML documents;
- a table built before a contract column existed gives one clear "not available" line
  naming the column and what to run, while the rest of the report still renders.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from cfz_platform.report import build_report
from cfz_platform.report.data import ASSESSMENT_COLUMNS, SUBJECT_COLUMNS
from cfz_platform.report.marts import compute_missing_columns
from cfz_platform.report.sections import data_quality, endpoints, flow, labs, safety
from cfz_platform.report.sections.data_quality import compute_delivery_summary
from cfz_platform.stats.endpoints import CURVE_COLUMNS, ENDPOINT_COLUMNS
from tests.report.contracts import contract_columns
from tests.report.html_parse import parse_report
from tests.report.marts_fixture import CONTRACT_TABLES, build_fixture_marts

#: Every (table, columns) the report's sections name.
REPORT_READS = {
    "dim_subject": [
        *SUBJECT_COLUMNS,
        *(c for _, c, _, _ in flow.BASELINE_ROWS),
        *endpoints.GROUP_MISMATCH_COLUMNS,
        "group_mismatch",
        "analysis_group_source",
        "first_dose_date",
    ],
    "fct_response_assessments": ASSESSMENT_COLUMNS,
    "fct_best_response": ["usubjid", "best_response"],
    "fct_time_to_event": ["usubjid", "paramcd", "cnsr", "aval"],
    "fct_eligibility": ["usubjid", "criterion_id", "status", "evidence"],
    "fct_dose_escalation": ["dose_level", "is_mtd", "mtd_reason"],
    "fct_adverse_events": [*safety.DLT_COLUMNS, "is_dlt", "is_teae"],
    "fct_lab_results": labs.LAB_COLUMNS,
    "rpt_study_endpoints": endpoints.ENDPOINT_COLUMNS,
    "rpt_survival_curves": endpoints.CURVE_COLUMNS,
    "fct_ml_features": ["usubjid", "label_pr"],
    "data_issues": data_quality.ISSUE_COLUMNS,
}


@pytest.mark.parametrize("table", sorted(REPORT_READS))
def test_every_column_the_report_reads_is_in_the_contract(table):
    contract = [name for name, _ in contract_columns()[table]]
    assert compute_missing_columns(contract, REPORT_READS[table]) == []


def test_endpoint_writer_matches_the_documented_columns():
    assert contract_columns()["rpt_study_endpoints"] == ENDPOINT_COLUMNS
    assert contract_columns()["rpt_survival_curves"] == CURVE_COLUMNS


def test_fixture_tables_have_exactly_the_contract_columns(report_marts, db):
    for schema, table in CONTRACT_TABLES:
        rows = db.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = %s and table_name = %s order by ordinal_position",
            (schema, table),
        ).fetchall()
        assert [tuple(r) for r in rows] == contract_columns()[table], f"{schema}.{table}"


def test_compute_delivery_summary_counts_files_met_again():
    """seen_count 3 on a version = two later runs met it again; a legacy skipped_duplicate
    row of an older ledger counts once and is not a file of its own."""
    ledger = pd.DataFrame(
        [
            {
                "delivery_id": "D1",
                "file_id": 1,
                "status": "loaded",
                "seen_count": 3,
                "rows_read": 10,
                "rows_loaded": 10,
                "rows_rejected": 0,
            },
            {
                "delivery_id": "D1",
                "file_id": 2,
                "status": "quarantined",
                "seen_count": 1,
                "rows_read": 0,
                "rows_loaded": 0,
                "rows_rejected": 0,
            },
            {
                "delivery_id": "D1",
                "file_id": 3,
                "status": "skipped_duplicate",
                "seen_count": 1,
                "rows_read": 0,
                "rows_loaded": 0,
                "rows_rejected": 0,
            },
            {
                "delivery_id": "D2",
                "file_id": 4,
                "status": "loaded",
                "seen_count": 1,
                "rows_read": 5,
                "rows_loaded": 4,
                "rows_rejected": 1,
            },
        ]
    )
    summary = compute_delivery_summary(ledger).set_index("delivery_id")
    assert summary.loc[
        "D1", ["files", "loaded", "quarantined", "times_seen_again", "rows_read"]
    ].tolist() == [2, 1, 1, 3, 10]
    assert summary.loc["D2", ["files", "times_seen_again", "rows_rejected"]].tolist() == [1, 0, 1]


@pytest.fixture
def fixture_warehouse(cluster, monkeypatch):
    """A warehouse of its own holding the fixture's marts, for a test that alters them."""
    from cfz_platform.db import warehouse

    name = f"t_report_altered_{os.getpid()}"
    warehouse.drop_database(name)
    warehouse.ensure_warehouse(name)
    monkeypatch.setenv("CFZ_WAREHOUSE_DB", name)
    try:
        with warehouse.connect(autocommit=True) as conn:
            build_fixture_marts(conn)
        yield name
    finally:
        monkeypatch.undo()
        warehouse.drop_database(name)


@pytest.fixture
def old_warehouse(fixture_warehouse):
    """A warehouse like the fixture's, but built before three contract columns existed."""
    from cfz_platform.db import warehouse

    with warehouse.connect(autocommit=True) as conn:
        conn.execute("alter table marts.dim_subject drop column respevalfl")
        conn.execute(
            "alter table marts.rpt_study_endpoints drop column analysis_population, "
            "drop column population_flag"
        )
        conn.execute("alter table audit.ingest_files drop column seen_count")
    return fixture_warehouse


def test_lab_shift_says_why_it_has_nothing_to_show(fixture_warehouse):
    """The shift table counts in SQL; with results but no CTCAE grade, then with no result
    at all, the section says which (not an empty table)."""
    from cfz_platform.db import warehouse
    from cfz_platform.report.data import ReportData
    from cfz_platform.report.marts import MartReader, Unavailable

    with warehouse.connect(autocommit=True) as conn:
        shift = labs.build_lab_shift(ReportData(MartReader(conn))).items[0].frame
        assert {"PLAT", "CREAT"} <= set(shift["Test"])
        conn.execute(
            "update marts.fct_lab_results set btoxgrl = null, atoxgrl = null, "
            "btoxgrh = null, atoxgrh = null"
        )
        with pytest.raises(Unavailable, match="has no CTCAE-graded results"):
            labs.build_lab_shift(ReportData(MartReader(conn)))
        conn.execute("delete from marts.fct_lab_results")
        with pytest.raises(Unavailable, match="has no rows for this study"):
            labs.build_lab_shift(ReportData(MartReader(conn)))


def test_a_missing_contract_column_is_one_clear_line(old_warehouse, tmp_path):
    parsed = parse_report(build_report(tmp_path).read_text())
    consort = parsed.sections["consort"]
    assert consort.status == "unavailable"
    assert (
        "not available: marts.dim_subject has no column respevalfl: it was built before its contract "
        "named it; rebuild the marts with `cfz transform`"
    ) in consort.text
    assert (
        "marts.rpt_study_endpoints has no column analysis_population, population_flag: it was built before "
        "its contract named them"
    ) in parsed.sections["endpoints"].text
    quality = parsed.sections["data-quality"]
    assert quality.status == "ok"  # the other audit parts still render
    assert (
        "audit.ingest_files has no column seen_count" in quality.text
        and "`cfz ingest`" in quality.text
    )
    assert "unknown unit" in quality.text
    # tables that do not need the missing columns are unaffected
    assert parsed.sections["adverse-events"].status == "ok" and parsed.sections["km"].status == "ok"
