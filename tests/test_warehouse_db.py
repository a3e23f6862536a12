"""The embedded warehouse: roles, grants, idempotent start, data kept across stop/start."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from cfz_platform.db import embedded, warehouse
from tests.conftest import ROOT, run_cfz


@pytest.fixture(scope="module")
def seeded(db):
    """One table in each schema, as the pipeline would leave them."""
    for schema in ("raw", "staging", "marts", "audit", "ml"):
        db.execute(f"create table {schema}.probe (usubjid text)")
        db.execute(f"insert into {schema}.probe values ('CFZ-001')")
    return db


def _bi_connect(name: str) -> psycopg.Connection:
    return psycopg.connect(warehouse.bi_settings(name).conninfo, autocommit=True)


def test_schemas_exist(db):
    rows = {r[0] for r in db.execute("select nspname from pg_namespace").fetchall()}
    assert {"raw", "staging", "marts", "ml", "audit"} <= rows


def test_bi_reader_reads_marts(seeded, warehouse_db):
    with _bi_connect(warehouse_db) as conn:
        assert conn.execute("select usubjid from marts.probe").fetchall() == [("CFZ-001",)]


@pytest.mark.parametrize("schema", ["raw", "staging", "audit", "ml"])
def test_bi_reader_cannot_read_other_schemas(seeded, warehouse_db, schema):
    with _bi_connect(warehouse_db) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(f"select * from {schema}.probe")


@pytest.mark.parametrize(
    "statement",
    [
        "insert into marts.probe values ('X')",
        "update marts.probe set usubjid = 'X'",
        "delete from marts.probe",
        "create table marts.mine (x int)",
        "create table public.mine (x int)",
        "drop table marts.probe",
    ],
)
def test_bi_reader_cannot_write(seeded, warehouse_db, statement):
    with _bi_connect(warehouse_db) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


@pytest.mark.parametrize(
    "statement",
    [
        "select lo_from_bytea(0, convert_to(repeat('x', 1024), 'UTF8'))",
        "select lo_create(0)",
        "select lowrite(lo_open(lo_creat(-1), 131072), 'x'::bytea)",
        "select lo_put(0, 0, 'x'::bytea)",
    ],
)
def test_bi_reader_cannot_create_large_objects(seeded, warehouse_db, statement):
    """Large objects escape every schema grant: bi_reader wrote 64 MB of them in one call."""
    with _bi_connect(warehouse_db) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)
    assert seeded.execute("select count(*) from pg_largeobject_metadata").fetchone() == (0,)


def test_bi_reader_sees_future_mart_tables(seeded, warehouse_db):
    seeded.execute("create table marts.later as select 1 as n")
    with _bi_connect(warehouse_db) as conn:
        assert conn.execute("select n from marts.later").fetchone() == (1,)


def test_bi_reader_cannot_connect_to_mlflow_db(seeded, warehouse_db):
    s = warehouse.bi_settings(warehouse_db)
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(s.url(s.mlflow_dbname))


def test_bi_reader_cannot_create_temporary_tables(seeded, warehouse_db):
    with _bi_connect(warehouse_db) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("create temporary table scratch (x int)")


@pytest.mark.parametrize("other", ["postgres", "template1", "cfz_prefect"])
def test_bi_reader_connects_to_the_warehouse_database_only(seeded, warehouse_db, db, other):
    if db.execute("select 1 from pg_database where datname = %s", (other,)).fetchone() is None:
        # the Prefect database is made on first use of the server, as the owner makes it
        db.execute(sql.SQL("create database {}").format(sql.Identifier(other)))
        warehouse.ensure_warehouse(warehouse_db)
    s = warehouse.bi_settings(warehouse_db)
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(s.url(other))


def test_the_server_user_cannot_touch_the_state_folder(cluster):
    """``.cfz`` holds the pid file root's ``cfz prefect stop`` signals: it stays the invoking
    user's, and the postgres system user may neither write into it nor replace its files."""
    from cfz_platform.config import state_dir

    if os.geteuid() != 0:
        pytest.skip("the server runs as the invoking user when not root")
    folder = state_dir()
    assert folder.stat().st_uid == os.getuid()
    target = folder / "prefect-server.json"
    probe = subprocess.run(
        [
            "runuser",
            "-u",
            "postgres",
            "--",
            "sh",
            "-c",
            f"echo '{{}}' > {target}.x && mv {target}.x {target}",
        ],
        capture_output=True,
        text=True,
    )
    assert probe.returncode != 0 and "Permission denied" in probe.stderr
    assert (
        subprocess.run(["runuser", "-u", "postgres", "--", "test", "-w", str(folder)]).returncode
        != 0
    )
    info = __import__("cfz_platform.db.embedded", fromlist=["load_info"]).load_info()
    assert Path(info.data_dir).stat().st_uid != os.getuid()  # the data directory is the server's


def test_validate_takes_the_schema_as_an_identifier_only(seeded, warehouse_db):
    hostile = "marts; drop table marts.probe; --"
    proc = run_cfz("validate", "--schema", hostile, check=False)
    assert proc.returncode == 1
    assert f"schema {hostile!r} does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert seeded.execute("select count(*) from marts.probe").fetchone() == (1,)


def test_db_start_twice_is_harmless(seeded, warehouse_db):
    first = run_cfz("db", "start")
    second = run_cfz("db", "start")
    assert "ready" in first.stdout
    assert "already running" in second.stdout
    assert seeded.execute("select count(*) from marts.probe").fetchone() == (1,)


@pytest.fixture()
def private_home(tmp_path_factory):
    """A second project home with its own cluster, so stopping it disturbs nobody else."""
    home = tmp_path_factory.mktemp("cfzhome")
    (home / "pyproject.toml").write_text('[project]\nname = "cfz-platform"\n')
    env = {"CFZ_HOME": str(home), "CFZ_WAREHOUSE_DB": "cfz"}
    yield env
    run_cfz("db", "stop", env=env, check=False)


def test_fresh_cluster_stop_then_start_keeps_data(private_home):
    created = run_cfz("db", "start", env=private_home)
    assert "started the embedded PostgreSQL" in created.stdout
    url = run_cfz("db", "url", env=private_home).stdout.strip()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table raw.kept as select 'CFZ-007'::text as usubjid")
    assert "stopped" in run_cfz("db", "stop", env=private_home).stdout
    status = run_cfz("db", "status", env=private_home, check=False)
    assert status.returncode == 3 and "stopped" in status.stdout
    assert "started" in run_cfz("db", "start", env=private_home).stdout
    url = run_cfz("db", "url", env=private_home).stdout.strip()
    with psycopg.connect(url) as conn:
        assert conn.execute("select usubjid from raw.kept").fetchall() == [("CFZ-007",)]


def test_url_prints_bi_reader(warehouse_db):
    out = run_cfz("db", "url", "--role", "bi_reader").stdout.strip()
    assert out.startswith("postgresql://bi_reader:") and "@127.0.0.1:" in out


def test_concurrent_setups_take_turns(cluster):
    """Role and database creation is cluster-wide: a second setup waits for the first
    (on a fresh cluster, parallel setups both tried to create bi_reader and one failed)."""
    name = f"t_setup_turns_{os.getpid()}"
    warehouse.drop_database(name)
    admin = warehouse.admin_settings()
    errors: list[BaseException] = []

    def setup() -> None:
        try:
            warehouse.ensure_warehouse(name)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    with psycopg.connect(admin.conninfo, autocommit=True) as holder:
        holder.execute("select pg_advisory_lock(%s)", (warehouse._SETUP_LOCK_KEY,))
        worker = threading.Thread(target=setup)
        worker.start()
        time.sleep(1.5)
        assert worker.is_alive(), "setup did not wait for the setup already in progress"
        assert (
            holder.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
            is None
        )
        holder.execute("select pg_advisory_unlock(%s)", (warehouse._SETUP_LOCK_KEY,))
        worker.join(60)
    assert errors == [] and not worker.is_alive()
    try:
        with psycopg.connect(warehouse.settings(name).conninfo) as conn:
            schemas = {r[0] for r in conn.execute("select nspname from pg_namespace")}
        assert {"raw", "staging", "marts", "ml", "audit"} <= schemas
    finally:
        warehouse.drop_database(name)


def test_missing_conformance_data_stops_the_run_naming_the_folder(tmp_path):
    missing = tmp_path / "nowhere"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:xdist",
            "tests/test_warehouse_db.py",
        ],
        cwd=ROOT,
        env={**os.environ, "CFZ_SHARED_DIR": str(missing)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR
    assert (
        f"the public conformance data is not at {missing / 'conformance'}"
        in proc.stderr + proc.stdout
    )


def _wal_settings(url: str) -> dict[str, str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return {
            name: conn.execute(sql.SQL("show {}").format(sql.Identifier(name))).fetchone()[0]
            for name in ("max_wal_size", "min_wal_size", "wal_keep_size")
        }


def test_embedded_cluster_keeps_laptop_sized_wal(private_home):
    """A fresh cluster checkpoints by 512MB of WAL at most (it kept up to 4GB), and a cluster
    an earlier version created with 4GB is resized at its next start."""
    run_cfz("db", "start", env=private_home)
    url = run_cfz("db", "url", env=private_home).stdout.strip()
    laptop = {"max_wal_size": "512MB", "min_wal_size": "64MB", "wal_keep_size": "0"}
    assert _wal_settings(url) == laptop
    run_cfz("db", "stop", env=private_home)
    info = json.loads((Path(private_home["CFZ_HOME"]) / ".cfz" / "cluster.json").read_text())
    conf = Path(info["data_dir"]) / "postgresql.auto.conf"
    with open(conf, "a") as fh:
        fh.write("max_wal_size = '4GB'\n")
    run_cfz("db", "start", env=private_home)
    assert _wal_settings(url) == laptop


@pytest.fixture()
def managed_db(cluster):
    """Databases ``lo_<pid>`` and its MLflow twin owned by a NOCREATEROLE NOCREATEDB login role
    (a managed server's pipeline user); the env for `cfz` to use them."""
    name, pw = f"lo_{os.getpid()}", secrets.token_urlsafe(12)
    owner = f"{name}_pipeline"
    admin = warehouse.admin_settings()

    def drop(conn: psycopg.Connection) -> None:
        for db in (name, f"{name}_mlflow"):
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db))
            )
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(owner)))

    with psycopg.connect(admin.conninfo, autocommit=True) as conn:
        drop(conn)
        conn.execute(
            sql.SQL("create role {} login nocreaterole nocreatedb password {}").format(
                sql.Identifier(owner), sql.Literal(pw)
            )
        )
        for db in (name, f"{name}_mlflow"):
            conn.execute(
                sql.SQL("create database {} owner {}").format(
                    sql.Identifier(db), sql.Identifier(owner)
                )
            )
    yield (
        name,
        {
            "CFZ_DATABASE_URL": f"postgresql://{owner}:{pw}@127.0.0.1:{cluster.port}/{name}",
            "CFZ_BI_READER_PASSWORD": embedded.load_info().bi_password,
        },
    )
    with psycopg.connect(admin.conninfo, autocommit=True) as conn:
        drop(conn)


def test_managed_server_names_the_large_object_revoke_for_an_administrator(managed_db):
    """A pipeline user without superuser cannot revoke the large-object functions (the
    superuser owns them): `cfz db start` says so with the statement, which then works."""
    name, env = managed_db
    start = run_cfz("db", "start", env=env)
    assert "REVOKE EXECUTE ON FUNCTION lo_creat(integer)" in start.stderr, start.stderr
    admin_sql = start.stderr[start.stderr.index("REVOKE") :].splitlines()[0]
    bi = warehouse.bi_settings(name).url()
    with psycopg.connect(bi, autocommit=True) as conn:  # what the administrator must close
        conn.execute("select lo_unlink(lo_create(0))")
    with psycopg.connect(warehouse.admin_settings().url(name), autocommit=True) as conn:
        conn.execute(admin_sql)
    with (
        psycopg.connect(bi, autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("select lo_create(0)")
