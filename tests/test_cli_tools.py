"""The tools data engineers know, on the warehouse: dbt through `cfz dbt`, the committed
profile, static dbt docs; and the command line's error contract (one line, traceback with --debug).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
from psycopg import sql

from cfz_platform.db import warehouse
from tests.conftest import ROOT, run_cfz


def _error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.startswith("error:")]


def test_unexpected_error_is_one_line_and_debug_shows_the_traceback(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    args = ("simulate", "--patients", "2", "--deliveries", "1", "--out", str(blocked / "landing"))
    plain = run_cfz(*args, check=False)
    assert plain.returncode == 1
    assert "Traceback" not in plain.stderr
    (line,) = _error_lines(plain.stderr)
    assert "NotADirectoryError" in line and "--debug" in line
    debug = run_cfz("--debug", *args, check=False)
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_train_without_its_mlflow_database_says_what_to_do_in_one_line(warehouse_db):
    store = warehouse.settings().mlflow_dbname
    admin = warehouse.admin_settings()
    with psycopg.connect(admin.conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(store))
        )
    try:
        for command in ("train", "score"):
            proc = run_cfz(command, check=False)
            assert proc.returncode == 1, proc.stdout
            assert "Traceback" not in proc.stderr
            (line,) = _error_lines(proc.stderr)
            assert store in line and "cfz db start" in line
    finally:
        warehouse.ensure_warehouse(warehouse_db)  # recreates the MLflow database


def test_cfz_dbt_builds_into_dev_schemas_and_leaves_the_published_marts_alone(db):
    db.execute("create table if not exists marts.sentinel (x int)")
    out = run_cfz("dbt", "--", "build", "-s", "stg_sdtm__dm")
    assert "Completed successfully" in out.stdout
    schemas = {
        r[0]
        for r in db.execute(
            "select table_schema from information_schema.tables where table_name = 'stg_sdtm__dm'"
        )
    }
    assert "dev_staging" in schemas
    assert db.execute("select to_regclass('marts.sentinel')").fetchone()[0] is not None
    bad = run_cfz("dbt", "--", "run", "--vars", "{not yaml", check=False)
    assert bad.returncode == 1


def _tables_named(db, name: str) -> set[str]:
    return {
        r[0]
        for r in db.execute(
            "select table_schema from information_schema.tables where table_name = %s", (name,)
        )
    }


def test_cfz_dbt_refuses_to_write_the_published_schemas_and_still_reads_them(db):
    """`cfz dbt -- build --target warehouse` built straight into staging/marts with no gate,
    watermark or lock (a 777 g/dL value reached bi_reader): only `cfz transform` writes them."""
    before = _tables_named(db, "stg_sdtm__ex")
    for args in (
        ("build", "--target", "warehouse", "-s", "stg_sdtm__ex"),
        ("run", "-t", "warehouse", "-s", "stg_sdtm__ex"),
        ("seed", "--target=warehouse"),
        ("run-operation", "guard_published_schemas", "--target", "warehouse"),
    ):
        proc = run_cfz("dbt", "--", *args, check=False)
        assert proc.returncode == 1, args
        (line,) = _error_lines(proc.stderr)
        assert "use `cfz transform`" in line and "Traceback" not in proc.stderr, line
    assert _tables_named(db, "stg_sdtm__ex") == before
    assert not before & {"staging", "marts"}
    # read-only commands on the warehouse target still work
    compiled = run_cfz("dbt", "--", "compile", "--target", "warehouse", "-s", "stg_sdtm__ex")
    assert "from" in compiled.stdout.lower()
    run_cfz("dbt", "--", "source", "freshness", "--target", "warehouse")


def test_plain_dbt_on_the_warehouse_target_cannot_build_the_published_schemas(db, warehouse_db):
    """The committed profile with CFZ_DBT_TARGET=warehouse (README): a build stops in dbt's
    on-run-start hook before any model, naming `cfz transform`; nothing is written."""
    env = dict(os.environ)
    for line in run_cfz("db", "env").stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip("'")
    env["CFZ_DBT_TARGET"] = "warehouse"
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    before = _tables_named(db, "stg_sdtm__vs")
    proc = subprocess.run(
        [
            dbt,
            "build",
            "-s",
            "stg_sdtm__vs",
            "--target-path",
            str(ROOT / ".cfz" / "dbt" / warehouse_db / "plain-target"),
        ],
        cwd=ROOT / "dbt",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode != 0, proc.stdout
    assert "use `cfz transform`" in proc.stdout, proc.stdout
    assert _tables_named(db, "stg_sdtm__vs") == before and "staging" not in before


def test_committed_profile_lets_plain_dbt_list_the_project_with_cfz_db_env(warehouse_db):
    exports = run_cfz("db", "env").stdout.splitlines()
    env = dict(os.environ)
    for line in exports:
        name, _, value = line.removeprefix("export ").partition("=")
        env[name] = value.strip("'")
    assert env["PGDATABASE"] == warehouse_db
    dbt = os.path.join(os.path.dirname(sys.executable), "dbt")
    proc = subprocess.run(
        [
            dbt,
            "ls",
            "--resource-type",
            "model",
            "--target",
            "warehouse",
            "-q",
            "--target-path",
            str(ROOT / ".cfz" / "dbt" / warehouse_db / "plain-target"),
        ],
        cwd=ROOT / "dbt",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "cfz.marts.safety.fct_lab_results" in proc.stdout


def test_cfz_docs_writes_a_static_site_with_the_catalog(warehouse_db, tmp_path):
    out = run_cfz("docs", "--out", str(tmp_path / "docs"))
    index = tmp_path / "docs" / "index.html"
    assert out.stdout.strip().endswith("index.html") and index.is_file()
    html = index.read_text()
    assert "fct_lab_results" in html and "<script" in html  # manifest and catalog inlined
    catalog = json.loads((tmp_path / "docs" / "catalog.json").read_text())
    assert any(key.startswith("source.cfz.raw.") for key in catalog["sources"])


def test_dbt_exposures_name_the_report_and_the_model(warehouse_db):
    """`cfz dbt -- ls --resource-type exposure` lists what reads the marts outside dbt: the
    trial report (every mart it reads, and the endpoint tables) and the early-response model
    (the feature mart)."""
    proc = run_cfz("dbt", "--", "ls", "--resource-type", "exposure", "--output", "json", "--quiet")
    exposures = {
        e["name"]: e
        for e in (json.loads(ln) for ln in proc.stdout.splitlines() if ln.startswith("{"))
    }
    assert {"trial_report", "early_response_model"} <= set(exposures)
    report = set(exposures["trial_report"]["depends_on"]["nodes"])
    for model in (
        "dim_subject",
        "fct_response_assessments",
        "fct_adverse_events",
        "fct_ml_features",
    ):
        assert f"model.cfz.{model}" in report, model
    assert "source.cfz.efficacy_stats.rpt_study_endpoints" in report
    assert exposures["early_response_model"]["depends_on"]["nodes"] == ["model.cfz.fct_ml_features"]
