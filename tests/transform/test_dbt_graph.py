"""The dbt graph runs one way: staging -> intermediate -> marts (-> adam), read from dbt's manifest.

Rules (issue 17):
- no staging model reads an intermediate, mart or ADaM model; no intermediate model reads a
  mart or ADaM model; no mart reads an ADaM model; an ADaM dataset reads marts (or ADaM) only;
- a mart reads another mart only where its YAML documents it (``config.meta.reads_marts``,
  with the reason beside it), and every documented exception is a real dependency;
- dim_subject is built from intermediate models only: it reads no fct_* (nor any other mart);
- no model or macro looks a built relation up behind dbt's graph (``adapter.get_relation``,
  ``load_relation``), and no staging or intermediate model names the marts or ADaM schema:
  a table of the schema being built or published is read through ``ref`` (or ``{{ this }}``
  in the model's own incremental branch), so the graph above holds every read (issue 26);
- every intermediate model and every column it has is documented (persist_docs carries the
  text to the comments of the tables in staging, which researchers query).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

LAYERS = ("staging", "intermediate", "marts", "adam")
DBT = Path(__file__).resolve().parents[2] / "dbt"
#: A lookup of a built relation by name, outside dbt's graph (``load_relation`` calls it too).
RELATION_LOOKUP = re.compile(r"adapter\s*\.\s*get_relation|\bload_relation\s*\(")
#: A staging or intermediate model reading the marts or ADaM schema by its name.
PUBLISHED_SCHEMA = re.compile(r"var\(\s*['\"](?:marts|adam)_schema['\"]")


def _layer(node: dict) -> str | None:
    parts = node["original_file_path"].split("/")
    return parts[1] if len(parts) > 2 and parts[0] == "models" and parts[1] in LAYERS else None


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse: str) -> str:
    """A copy of the session's built trial: every model's table exists, with its comments."""
    return trial_warehouse


@pytest.fixture(scope="module")
def manifest(built_trial_template) -> dict:
    """dbt's manifest of the session's build (the whole project, parsed by that build)."""
    return json.loads(built_trial_template.manifest.read_text())


@pytest.fixture(scope="module")
def models(manifest) -> dict[str, dict]:
    return {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}


def _edges(models: dict[str, dict]) -> list[tuple[dict, dict]]:
    """(model, upstream model) for every ref between two models of the layered folders."""
    return [
        (node, models[up])
        for node in models.values()
        for up in node["depends_on"]["nodes"]
        if up in models and _layer(node) and _layer(models[up])
    ]


def test_layers_are_recognised(models):
    found = {_layer(n) for n in models.values()}
    assert {"staging", "intermediate", "marts"} <= found


def test_no_model_reads_a_later_layer(models):
    backwards = sorted(
        f"{node['name']} ({_layer(node)}) -> {up['name']} ({_layer(up)})"
        for node, up in _edges(models)
        if LAYERS.index(_layer(up)) > LAYERS.index(_layer(node))
    )
    assert backwards == []


def test_no_intermediate_model_reads_a_mart(models):
    """No intermediate model (in models/intermediate, or named int_* anywhere) refs a mart or
    an ADaM model."""
    found = sorted(
        f"{n['name']} -> {models[up]['name']}"
        for n in models.values()
        if _layer(n) == "intermediate" or n["name"].startswith("int_")
        for up in n["depends_on"]["nodes"]
        if up in models and _layer(models[up]) in ("marts", "adam")
    )
    assert found == []


def _dbt_files(*folders: str) -> list[Path]:
    return sorted(
        p for f in folders for p in (DBT / f).rglob("*") if p.suffix in (".sql", ".yml", ".jinja")
    )


def test_no_relation_is_looked_up_behind_the_graph():
    """No model or macro calls ``adapter.get_relation`` (or ``load_relation``): a read of a
    built table (a mart of the schema being built, a published one) is a dependency dbt's
    graph, and so the layer rules above, cannot see. Static: the project's files as written."""
    files = _dbt_files("models", "macros")
    assert len(files) > 50
    found = [
        f"{p.relative_to(DBT)}:{n}"
        for p in files
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if RELATION_LOOKUP.search(line)
    ]
    assert found == []


def test_no_staging_or_intermediate_model_names_the_published_schemas():
    """A staging or intermediate model reads a mart or ADaM table neither by ref (above) nor
    by naming its schema (``var('marts_schema')`` / ``var('adam_schema')``)."""
    found = [
        f"{p.relative_to(DBT)}:{n}"
        for p in _dbt_files("models/staging", "models/intermediate")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if PUBLISHED_SCHEMA.search(line)
    ]
    assert found == []


def test_adam_reads_marts_only(models):
    """An ADaM dataset reads marts (and ADSL or another ADaM dataset), never a staging or
    intermediate model: what a statistician submits is what BI sees (issue 26, item 4)."""
    found = sorted(
        f"{n['name']} -> {u['name']} ({_layer(u)})"
        for n, u in _edges(models)
        if _layer(n) == "adam" and _layer(u) not in ("marts", "adam")
    )
    assert found == []


def test_mart_to_mart_reads_are_documented(models):
    """Each mart -> mart dependency is listed in the reading mart's meta.reads_marts, and each
    listed one is real (no stale documentation)."""
    for node in models.values():
        if _layer(node) != "marts":
            continue
        reads = sorted(
            models[up]["name"]
            for up in node["depends_on"]["nodes"]
            if up in models and _layer(models[up]) == "marts"
        )
        documented = sorted(node["config"].get("meta", {}).get("reads_marts", []))
        assert reads == documented, node["name"]


def test_dim_subject_is_built_from_intermediate_models(models):
    dim = next(n for n in models.values() if n["name"] == "dim_subject")
    upstream = {
        models[u]["name"]: _layer(models[u]) for u in dim["depends_on"]["nodes"] if u in models
    }
    assert not any(name.startswith("fct_") for name in upstream), upstream
    assert set(upstream.values()) <= {"staging", "intermediate"}, upstream
    assert {
        "int_eligibility__criteria",
        "int_safety__adverse_events",
        "int_subject__treatment",
    } <= set(upstream)


def test_published_facts_read_their_intermediate_derivation(models):
    """The three marts whose rules moved to intermediate models select from them."""
    by_name = {n["name"]: n for n in models.values()}
    for mart, derivation in (
        ("fct_cycles", "int_exposure__cycles"),
        ("fct_eligibility", "int_eligibility__criteria"),
        ("fct_adverse_events", "int_safety__adverse_events"),
    ):
        assert f"model.cfz.{derivation}" in by_name[mart]["depends_on"]["nodes"], mart


def test_unit_tests_of_intermediate_models_use_no_mart_input(manifest, models):
    """A unit test of an intermediate model mocks only its real (staging/intermediate) inputs."""
    bad = []
    for test in manifest.get("unit_tests", {}).values():
        model = models.get(f"model.cfz.{test['model']}")
        if model is None or _layer(model) != "intermediate":
            continue
        for given in test.get("given", []):
            name = re.search(r"ref\(['\"]([^'\"]+)['\"]\)", given["input"])
            if name and _layer(
                models.get(f"model.cfz.{name.group(1)}", {"original_file_path": ""})
            ) in ("marts", "adam"):
                bad.append(f"{test['name']}: {name.group(1)}")
    assert bad == []


def undocumented_columns(db, models: dict[str, dict], layer: str, prefix: str) -> list[str]:
    """The models of ``layer`` named ``prefix*`` without a description, and the columns of their
    built tables in staging (names as built) that the YAML does not describe."""
    undocumented: list[str] = []
    for node in models.values():
        if _layer(node) != layer or not node["name"].startswith(prefix):
            continue
        if not node.get("description", "").strip():
            undocumented.append(node["name"])
        documented = {c for c, col in node["columns"].items() if col.get("description", "").strip()}
        built = [
            r[0]
            for r in db.execute(
                "select column_name from information_schema.columns where table_schema = 'staging'"
                " and table_name = %s order by ordinal_position",
                (node["name"],),
            )
        ]
        assert built, f"{node['name']} was not built"
        undocumented += [f"{node['name']}.{c}" for c in built if c not in documented]
    return undocumented


def uncommented_columns(db, prefix: str) -> list[tuple[str, str]]:
    """(table, column) of the staging tables named ``prefix*`` whose column has no comment."""
    like = prefix.replace("_", "\\_") + "%"
    return db.execute(
        "select c.relname, a.attname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped"
        " where n.nspname = 'staging' and c.relname like %s and c.relkind = 'r'"
        " and coalesce(col_description(c.oid, a.attnum), '') = ''",
        (like,),
    ).fetchall()


def test_every_intermediate_column_is_documented(manifest, models, db):
    """Each int_* model has a description and documents every column of its table in staging
    (names as built by the session's trial build, tests/trial_template.py)."""
    assert undocumented_columns(db, models, "intermediate", "int_") == []


def test_intermediate_comments_reach_postgres(db):
    """persist_docs wrote the YAML text as comments on the intermediate tables."""
    assert uncommented_columns(db, "int_") == []
