"""rpt_study_endpoints / rpt_survival_curves carry the dbt YAML's text as PostgreSQL comments.

The two tables are written by Python (cfz_platform.stats), outside dbt's persist_docs; a BI
tool connected as bi_reader reads their descriptions from pg_description (obj_description /
col_description). A hand-made trial of three subjects in marts (two response-evaluable, one
responder) is enough to write both tables.
"""

from __future__ import annotations

import psycopg
import pytest
import yaml

from cfz_platform.config import project_root
from cfz_platform.db import warehouse
from cfz_platform.stats.endpoints import CURVE_COLUMNS, ENDPOINT_COLUMNS, ENDPOINT_DOCS_YAML

TABLES = {"rpt_study_endpoints": ENDPOINT_COLUMNS, "rpt_survival_curves": CURVE_COLUMNS}

HAND_MADE_MARTS = [
    'create table marts.dim_subject (usubjid text, "group" text, analysis_group text,'
    " analysis_group_source text, respevalfl boolean)",
    "insert into marts.dim_subject values ('S1', 'A', 'A', 'assigned', true),"
    " ('S2', 'B', 'B', 'assigned', true), ('S3', 'A', 'A', 'assigned', false)",
    "create table marts.fct_best_response (usubjid text, best_response text, is_responder boolean,"
    " is_clinical_benefit boolean)",
    "insert into marts.fct_best_response values ('S1', 'PR', true, true), ('S2', 'SD', false, false),"
    " ('S3', 'NE', false, false)",
    "create table marts.fct_time_to_event (usubjid text, paramcd text, aval numeric, cnsr integer)",
    "insert into marts.fct_time_to_event values ('S1', 'TTP', 120, 1), ('S2', 'TTP', 60, 0),"
    " ('S3', 'TTP', 30, 0)",
]


def _yaml_docs() -> dict[str, dict]:
    doc = yaml.safe_load((project_root() / ENDPOINT_DOCS_YAML).read_text())
    source = next(s for s in doc["sources"] if s["name"] == "efficacy_stats")
    return {t["name"]: t for t in source["tables"]}


@pytest.fixture(scope="module")
def written(db, warehouse_db):
    from cfz_platform.stats import write_endpoint_tables

    for stmt in HAND_MADE_MARTS:
        db.execute(stmt)
    write_endpoint_tables(db, "marts")
    write_endpoint_tables(db, "marts")  # a rewrite (drop and create) keeps the comments
    return warehouse_db


@pytest.fixture(scope="module")
def bi(written):
    with psycopg.connect(warehouse.bi_settings(written).conninfo, autocommit=True) as conn:
        yield conn


def test_yaml_documents_exactly_the_written_columns():
    """The YAML is the one source of the text: it lists every column the writer creates."""
    docs = _yaml_docs()
    for table, columns in TABLES.items():
        assert [c["name"] for c in docs[table]["columns"]] == [c for c, _ in columns], table


@pytest.mark.parametrize("table", sorted(TABLES))
def test_bi_reader_sees_table_comment(bi, table):
    expected = " ".join(_yaml_docs()[table]["description"].split())
    found = bi.execute(
        "select obj_description(%s::regclass, 'pg_class')", (f"marts.{table}",)
    ).fetchone()[0]
    assert found == expected


@pytest.mark.parametrize("table", sorted(TABLES))
def test_bi_reader_sees_every_column_comment(bi, table):
    """Every column of the table as bi_reader sees it has the YAML's description as comment."""
    expected = {
        c["name"]: " ".join(c["description"].split()) for c in _yaml_docs()[table]["columns"]
    }
    rows = bi.execute(
        "select a.attname, col_description(a.attrelid, a.attnum) from pg_attribute a"
        " where a.attrelid = %s::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum",
        (f"marts.{table}",),
    ).fetchall()
    assert [name for name, _ in rows] == [c for c, _ in TABLES[table]]
    missing = [name for name, comment in rows if not comment]
    assert missing == []
    assert dict(rows) == expected


def test_the_rows_are_still_written(bi):
    """The comments change nothing of the content: one responder of two evaluable subjects."""
    row = bi.execute(
        "select n_subjects, n_count from marts.rpt_study_endpoints where endpoint = 'ORR_CONVENTIONAL' and population = 'OVERALL'"
    ).fetchone()
    assert row == (2, 1)
