"""A managed PostgreSQL, as most trial teams get it: the pipeline user may not create roles or
databases. An administrator made the `bi_reader` role (its password handed over in
CFZ_BI_READER_PASSWORD), the warehouse database and its MLflow twin, both owned by the
pipeline user. The README's path must work end to end: db start, ingest, transform, train,
score, report, and BI reads the marts.
"""

from __future__ import annotations

import os
import secrets

import psycopg
import pytest
from psycopg import sql

from cfz_platform.db import embedded, warehouse
from tests.conftest import run_cfz

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def managed(cluster):
    """Database `mgd_<pid>` and `mgd_<pid>_mlflow` owned by a login role with NOCREATEROLE NOCREATEDB."""
    name = f"mgd_{os.getpid()}"
    owner, pw = f"{name}_pipeline", secrets.token_urlsafe(12)
    admin = warehouse.admin_settings()
    with psycopg.connect(admin.conninfo, autocommit=True) as conn:
        for db in (name, f"{name}_mlflow"):
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db))
            )
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(owner)))
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
    env = {
        "CFZ_DATABASE_URL": f"postgresql://{owner}:{pw}@127.0.0.1:{cluster.port}/{name}",
        "CFZ_BI_READER_PASSWORD": embedded.load_info().bi_password,
    }
    yield {"name": name, "owner": owner, "env": env}
    with psycopg.connect(admin.conninfo, autocommit=True) as conn:
        for db in (name, f"{name}_mlflow", f"{name}_prefect"):
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db))
            )
        conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(owner)))
        conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(owner)))


def test_the_documented_path_works_for_a_user_who_may_not_create_roles(managed, tmp_path):
    env = managed["env"]
    start = run_cfz("db", "start", env=env)
    assert "external PostgreSQL" in start.stdout and "Traceback" not in start.stderr
    run_cfz(
        "simulate",
        "--patients",
        "24",
        "--deliveries",
        "3",
        "--error-rate",
        "0",
        "--out",
        str(tmp_path / "landing"),
        env=env,
    )
    run_cfz("ingest", "--landing", str(tmp_path / "landing"), env=env)
    run_cfz("transform", env=env, timeout=1800)
    train = run_cfz("train", env=env, timeout=1800)
    assert "early_response" in train.stdout
    score = run_cfz("score", env=env)
    assert score.stdout.startswith("scored ")
    report = run_cfz("report", "--out", str(tmp_path / "report"), env=env)
    assert (tmp_path / "report" / "index.html").is_file() and report.stdout.strip().endswith(
        "index.html"
    )

    bi_url = run_cfz("db", "url", "--role", "bi_reader", env=env).stdout.strip()
    with psycopg.connect(bi_url) as bi:
        subjects = bi.execute("select count(*) from marts.dim_subject where saffl").fetchone()[0]
        assert subjects == 24
        assert (
            bi.execute(
                "select count(*) from ml.early_response_predictions where is_current"
            ).fetchone()[0]
            > 0
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bi.execute("select count(*) from raw.dm")
    with psycopg.connect(warehouse.admin_settings().conninfo) as conn:
        rights = conn.execute(
            "select rolcreaterole, rolcreatedb from pg_roles where rolname = %s",
            (managed["owner"],),
        ).fetchone()
    assert rights == (False, False)  # nothing above needed more
