"""Every relation and column a BI tool can read carries a comment (issue 28 item 4).

A BI tool connected as bi_reader shows a table's and a column's description from
pg_description (obj_description / col_description). On the built default trial, with the
predictions table the scoring step creates (ml.early_response_predictions), the test connects
as bi_reader, lists every relation it may select in the warehouse's own schemas (marts, adam,
ml, and any other the grants open: system catalogs aside) and every column it may select in
them, and asserts none lacks a comment: the dbt marts and ADaM datasets (persist_docs), the
time spine of the semantic layer, the endpoint tables Python writes (rpt_*) and the predictions.
"""

from __future__ import annotations

import psycopg
import pytest
import yaml

from cfz_platform.config import project_root
from cfz_platform.db import warehouse
from cfz_platform.ml.scoring import ensure_predictions_table

#: relations bi_reader must reach in a published build (the test fails if a grant goes missing)
EXPECTED = {
    ("marts", "dim_subject"),
    ("marts", "fct_ml_features"),
    ("marts", "rpt_study_endpoints"),
    ("marts", "rpt_survival_curves"),
    ("marts", "metricflow_time_spine"),
    ("adam", "adsl"),
    ("adam", "adtte"),
    ("ml", "early_response_predictions"),
}

READABLE = """
select n.nspname, c.relname, c.relkind,
       obj_description(c.oid, 'pg_class') as table_comment,
       array_agg(a.attname order by a.attnum)
         filter (where coalesce(col_description(c.oid, a.attnum), '') = '') as bare_columns,
       count(a.attnum) as n_columns
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where c.relkind in ('r', 'v', 'm', 'p', 'f')
  and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname !~ '^pg_toast'
  and has_schema_privilege(current_user, n.oid, 'usage')
  and has_column_privilege(current_user, c.oid, a.attnum, 'select')
group by 1, 2, 3, 4
order by 1, 2
"""


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse):
    return trial_warehouse


@pytest.fixture(scope="module")
def readable(db) -> list[tuple]:
    with db.cursor() as cur:
        ensure_predictions_table(cur)  # what cfz score creates before its first rows
    bi = warehouse.bi_settings()
    with psycopg.connect(bi.conninfo, autocommit=True) as conn:
        assert conn.execute("select current_user").fetchone()[0] == "bi_reader"
        return conn.execute(READABLE).fetchall()


def test_bi_reader_reaches_the_published_schemas(readable):
    names = {(schema, table) for schema, table, *_ in readable}
    assert names >= EXPECTED
    assert {schema for schema, *_ in readable} <= {"marts", "adam", "ml"}


def test_every_readable_relation_and_column_has_a_comment(readable):
    bare_tables = [f"{s}.{t}" for s, t, _, comment, _, _ in readable if not (comment or "").strip()]
    bare_columns = [f"{s}.{t}.{c}" for s, t, _, _, columns, _ in readable for c in (columns or [])]
    assert bare_tables == []
    assert bare_columns == []
    assert sum(n for *_, n in readable) > 300  # the columns of every mart, dataset and table


def _declared_not_null() -> set[tuple[str, str]]:
    """(model, column) pairs a contract-enforced dbt model declares NOT NULL, read from the
    project's YAML (not from dbt: what the project promises)."""
    declared = set()
    for path in (project_root() / "dbt" / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            if not ((model.get("config") or {}).get("contract") or {}).get("enforced"):
                continue
            for column in model.get("columns") or []:
                if {"type": "not_null"} in (column.get("constraints") or []):
                    declared.add((model["name"], column["name"]))
    return declared


def test_declared_not_null_columns_are_not_null_in_the_catalog(db):
    """A BI tool reads the column's nullability from the catalog, and PostgreSQL refuses a
    null on every write there: the contract's not_null is the database's constraint, not a
    query run after the build (these were dbt not_null tests before issue 29)."""
    declared = _declared_not_null()
    assert len(declared) >= 35  # subject keys, record keys, vital-sign values, dates...
    nullable = db.execute(
        "select table_name, column_name, is_nullable from information_schema.columns "
        "where table_schema in ('marts', 'adam') and (table_name, column_name) in "
        "(select * from unnest(%s::text[], %s::text[]))",
        ([m for m, _ in declared], [c for _, c in declared]),
    ).fetchall()
    found = {(t, c): n for t, c, n in nullable}
    assert set(found) == declared
    assert {k for k, n in found.items() if n != "NO"} == set()
    # and a null is refused on the published table itself
    with pytest.raises(psycopg.errors.NotNullViolation), db.transaction():
        db.execute("insert into marts.fct_lab_results (lab_record_key) values (null)")
