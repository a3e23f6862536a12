"""The warehouse: which database to use, how to connect, and how to set it up.

``ensure_warehouse`` is idempotent. It creates (when missing) the owner role, the read-only
``bi_reader`` role, the warehouse database, the MLflow tracking database and the schemas
``raw``, ``staging``, ``marts``, ``adam``, ``ml`` and ``audit``, and grants ``bi_reader`` SELECT on
``marts`` and ``adam`` only (plus published ML predictions, granted table by table).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from cfz_platform.config import (
    BI_READABLE_SCHEMAS,
    BI_ROLE,
    OWNER_ROLE,
    WAREHOUSE_SCHEMAS,
    DatabaseSettings,
    external_database_url,
    settings_from_url,
    state_dir,
    warehouse_db_name,
)
from cfz_platform.db import embedded

log = logging.getLogger(__name__)


class WarehouseError(RuntimeError):
    """The warehouse could not be reached or set up; the message says what to do."""


def _embedded_info() -> embedded.ClusterInfo:
    info = embedded.load_info()
    if info is None or not embedded.is_running(info):
        raise WarehouseError(
            "the embedded PostgreSQL is not running: start it with `cfz db start` "
            "(or set CFZ_DATABASE_URL to use an existing server)"
        )
    return info


def _external_bi_password() -> str:
    import os

    env = os.environ.get("CFZ_BI_READER_PASSWORD")
    if env:
        return env
    path = state_dir() / "external.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    if "bi_password" not in data:
        data["bi_password"] = secrets.token_urlsafe(12)
        path.write_text(json.dumps(data))
        path.chmod(0o600)
    return data["bi_password"]


def settings(dbname: str | None = None) -> DatabaseSettings:
    """Owner-role settings for the warehouse (embedded cluster or ``CFZ_DATABASE_URL``)."""
    url = external_database_url()
    if url:
        return settings_from_url(url)
    info = _embedded_info()
    name = dbname or warehouse_db_name()
    return DatabaseSettings(
        host="127.0.0.1",
        port=info.port,
        dbname=name,
        user=OWNER_ROLE,
        password=info.owner_password,
        mlflow_dbname=f"{name}_mlflow",
    )


def bi_settings(dbname: str | None = None) -> DatabaseSettings:
    """Settings for the read-only ``bi_reader`` role."""
    owner = settings(dbname)
    password = _external_bi_password() if external_database_url() else _embedded_info().bi_password
    return DatabaseSettings(
        host=owner.host, port=owner.port, dbname=owner.dbname, user=BI_ROLE,
        password=password, mlflow_dbname=owner.mlflow_dbname,
    )


def admin_settings() -> DatabaseSettings:
    """Superuser settings on the embedded cluster; the configured URL on an external one."""
    url = external_database_url()
    if url:
        return settings_from_url(url)
    info = _embedded_info()
    return DatabaseSettings(
        host="127.0.0.1", port=info.port, dbname="postgres", user="postgres",
        password=info.superuser_password, mlflow_dbname="postgres",
    )


def connect(dbname: str | None = None, autocommit: bool = False, **kwargs) -> psycopg.Connection:
    """A psycopg connection to the warehouse as the owner role."""
    return psycopg.connect(settings(dbname).conninfo, autocommit=autocommit, **kwargs)


@contextmanager
def cursor(dbname: str | None = None) -> Iterator[psycopg.Cursor]:
    """A cursor inside one transaction, committed on success."""
    with connect(dbname) as conn, conn.cursor() as cur:
        yield cur


# Key of the session advisory lock that serializes role and database creation.
_SETUP_LOCK_KEY = 0x0CF2_5E70


def _ensure_role(cur: psycopg.Cursor, role: str, password: str, extra: str = "") -> None:
    cur.execute("select 1 from pg_roles where rolname = %s", (role,))
    verb = "alter" if cur.fetchone() else "create"
    cur.execute(
        sql.SQL("{} role {} with login password {}" + extra).format(
            sql.SQL(verb), sql.Identifier(role), sql.Literal(password)
        )
    )


def _ensure_database(cur: psycopg.Cursor, name: str, owner: str | None) -> None:
    cur.execute("select 1 from pg_database where datname = %s", (name,))
    if cur.fetchone():
        return
    if owner:
        cur.execute(sql.SQL("create database {} owner {}").format(sql.Identifier(name), sql.Identifier(owner)))
    else:
        cur.execute(sql.SQL("create database {}").format(sql.Identifier(name)))


def ensure_warehouse(dbname: str | None = None) -> DatabaseSettings:
    """Create roles, databases, schemas and grants when missing. Returns owner settings.

    Steps:
    1. embedded: as superuser, create/refresh roles ``cfz_owner`` and ``bi_reader`` and the
       warehouse and MLflow databases owned by ``cfz_owner``;
       external: try to create ``bi_reader`` and the MLflow database; explain when not allowed;
    2. in the warehouse, create the five schemas and set grants (``bi_reader`` may use
       ``marts`` and read its tables, present and future; nothing else);
    3. revoke PUBLIC's CONNECT on the MLflow database and CREATE on ``public``.
    """
    external = external_database_url()
    owner = settings(dbname)
    if external:
        _ensure_external(owner)
    else:
        info = _embedded_info()
        admin = admin_settings()
        with psycopg.connect(admin.conninfo, autocommit=True) as conn, conn.cursor() as cur:
            # Roles and databases are cluster-wide: concurrent setups (parallel test workers,
            # two commands started at once) take turns, or both would try to create them.
            cur.execute("select pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
            _ensure_role(cur, OWNER_ROLE, info.owner_password, " createdb")
            _ensure_role(cur, BI_ROLE, info.bi_password)
            _ensure_database(cur, owner.dbname, OWNER_ROLE)
            _ensure_database(cur, owner.mlflow_dbname, OWNER_ROLE)
            cur.execute(sql.SQL("revoke all on database {} from public").format(sql.Identifier(owner.mlflow_dbname)))
            cur.execute(sql.SQL("grant connect on database {} to {}").format(
                sql.Identifier(owner.dbname), sql.Identifier(BI_ROLE)))
    _ensure_schemas(owner)
    return owner


def _ensure_external(owner: DatabaseSettings) -> None:
    with psycopg.connect(owner.conninfo, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
        try:
            _ensure_role(cur, BI_ROLE, _external_bi_password())
        except psycopg.errors.InsufficientPrivilege as exc:
            raise WarehouseError(
                f"the user {owner.user!r} in CFZ_DATABASE_URL may not create roles, so the "
                f"read-only role {BI_ROLE!r} cannot be set up. Ask an administrator to run: "
                f"CREATE ROLE {BI_ROLE} LOGIN PASSWORD '...'; then set CFZ_BI_READER_PASSWORD."
            ) from exc
        try:
            _ensure_database(cur, owner.mlflow_dbname, None)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise WarehouseError(
                f"the user {owner.user!r} may not create the MLflow database {owner.mlflow_dbname!r}; "
                "create it for this user, or set CFZ_MLFLOW_DB to an existing database"
            ) from exc
        cur.execute(sql.SQL("grant connect on database {} to {}").format(
            sql.Identifier(owner.dbname), sql.Identifier(BI_ROLE)))


def _ensure_schemas(owner: DatabaseSettings) -> None:
    with psycopg.connect(owner.conninfo, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("revoke create on schema public from public")
        for schema in WAREHOUSE_SCHEMAS:
            try:
                cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
            except psycopg.errors.InsufficientPrivilege as exc:
                raise WarehouseError(
                    f"the user {owner.user!r} may not create schema {schema!r} in {owner.dbname!r}"
                ) from exc
        for schema in BI_READABLE_SCHEMAS:
            grant_bi_reader(cur, schema)


def grant_bi_reader(cur: psycopg.Cursor, schema: str = "marts") -> None:
    """Give ``bi_reader`` read access to ``schema`` (used again after each publish)."""
    ident = sql.Identifier(schema)
    bi = sql.Identifier(BI_ROLE)
    cur.execute(sql.SQL("grant usage on schema {} to {}").format(ident, bi))
    cur.execute(sql.SQL("grant select on all tables in schema {} to {}").format(ident, bi))
    cur.execute(sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(ident, bi))


def drop_database(name: str) -> None:
    """Drop a database (and its MLflow twin) in the embedded cluster; used by test fixtures."""
    admin = admin_settings()
    with psycopg.connect(admin.conninfo, autocommit=True) as conn, conn.cursor() as cur:
        for db in (name, f"{name}_mlflow"):
            cur.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db)))
