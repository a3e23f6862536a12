"""CFZ_DATABASE_URL: an existing server and database (the production case).

The embedded cluster stands in for a managed PostgreSQL: the tests create a database and
login roles on it, then point `cfz db start` at them through CFZ_DATABASE_URL, as an
operator would.
"""

from __future__ import annotations

import os
import secrets

import psycopg
import pytest
from psycopg import sql

from cfz_platform.db import embedded, warehouse
from tests.conftest import run_cfz


@pytest.fixture(scope="module")
def external(cluster):
    """A database `ext_<pid>` owned by a role that may create roles and databases, and a weak role."""
    name = f"ext_{os.getpid()}"
    owner, weak = f"{name}_owner", f"{name}_weak"
    pw = secrets.token_urlsafe(12)
    admin = warehouse.admin_settings()
    with psycopg.connect(admin.conninfo, autocommit=True) as conn:
        for role, extra in ((owner, " createrole createdb"), (weak, "")):
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))
            conn.execute(
                sql.SQL("create role {} login password {}" + extra).format(
                    sql.Identifier(role), sql.Literal(pw)
                )
            )
        conn.execute(
            sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
        )
        conn.execute(
            sql.SQL("create database {} owner {}").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        )
        conn.execute(
            sql.SQL("grant connect on database {} to {}").format(
                sql.Identifier(name), sql.Identifier(weak)
            )
        )
    base = f"127.0.0.1:{cluster.port}/{name}"
    yield {
        "name": name,
        "owner_url": f"postgresql://{owner}:{pw}@{base}",
        "weak_url": f"postgresql://{weak}:{pw}@{base}",
    }
    with psycopg.connect(admin.conninfo, autocommit=True) as conn:
        for db in (name, f"{name}_mlflow"):
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db))
            )
        conn.execute(sql.SQL("reassign owned by {} to postgres").format(sql.Identifier(owner)))
        for role in (owner, weak):
            conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(role)))


def _env(url: str) -> dict:
    # keep the cluster-wide bi_reader password as it is, so other warehouses keep working
    return {"CFZ_DATABASE_URL": url, "CFZ_BI_READER_PASSWORD": embedded.load_info().bi_password}


def test_db_start_sets_up_schemas_roles_and_mlflow_db_on_an_external_server(external):
    out = run_cfz("db", "start", env=_env(external["owner_url"]))
    assert "external PostgreSQL" in out.stdout
    with psycopg.connect(external["owner_url"]) as conn:
        schemas = {r[0] for r in conn.execute("select nspname from pg_namespace")}
        assert {"raw", "staging", "marts", "ml", "audit"} <= schemas
        assert conn.execute(
            "select 1 from pg_database where datname = %s", (f"{external['name']}_mlflow",)
        ).fetchone()
    bi_url = run_cfz(
        "db", "url", "--role", "bi_reader", env=_env(external["owner_url"])
    ).stdout.strip()
    with psycopg.connect(external["owner_url"], autocommit=True) as conn:
        conn.execute("create table marts.ext_probe as select 1 as n")
        conn.execute("create table raw.ext_probe as select 1 as n")
    with psycopg.connect(bi_url) as conn:
        assert conn.execute("select n from marts.ext_probe").fetchone() == (1,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("select n from raw.ext_probe")


def test_a_user_without_rights_gets_a_clear_message(external):
    proc = run_cfz("db", "start", env=_env(external["weak_url"]), check=False)
    assert proc.returncode != 0
    # bi_reader was made by an administrator (CFZ_BI_READER_PASSWORD): the user may not alter
    # it, which is only a warning; creating the schemas is what it may not do
    assert "may not set bi_reader's session limits" in proc.stderr
    assert "may not create schema 'raw'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_without_the_bi_password_a_user_who_may_not_create_roles_is_told(external):
    env = {**_env(external["weak_url"]), "CFZ_BI_READER_PASSWORD": ""}
    proc = run_cfz("db", "start", env=env, check=False)
    assert proc.returncode != 0
    assert "may not create roles" in proc.stderr and "bi_reader" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_stop_refuses_to_touch_an_external_server(external):
    proc = run_cfz("db", "stop", env=_env(external["owner_url"]), check=False)
    assert proc.returncode != 0 and "not ours to stop" in proc.stderr
