"""The warehouse: which database to use, how to connect, and how to set it up.

``ensure_warehouse`` is idempotent. It creates (when missing) the owner role, the read-only
``bi_reader`` role, the warehouse database, the MLflow tracking database and the schemas
``raw``, ``staging``, ``marts``, ``adam``, ``ml`` and ``audit``, and grants ``bi_reader`` SELECT on
``marts`` and ``adam`` only (plus published ML predictions, granted table by table).

``bi_reader`` also gets session limits so a BI tool cannot stall the pipeline
(``bi_role_settings``: idle-in-transaction and statement timeouts, a connection limit), may
not create temporary tables, and may connect to the warehouse database only. Every DDL the
build and the publish issue runs with ``lock_timeout`` (``ddl_lock_timeout``), longer than
the BI idle timeout, so an idle BI transaction is ended before the build gives up.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from cfz_platform.config import (
    BI_READABLE_SCHEMAS,
    BI_ROLE,
    DEFAULT_WAREHOUSE_DB,
    OWNER_ROLE,
    WAREHOUSE_SCHEMAS,
    DatabaseSettings,
    external_database_url,
    settings_from_url,
    state_dir,
    warehouse_db_name,
)
from cfz_platform.db import embedded
from cfz_platform.db.large_objects import compute_admin_sql, restrict_large_objects

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
        mlflow_dbname=os.environ.get("CFZ_MLFLOW_DB") or f"{name}_mlflow",
    )


def bi_settings(dbname: str | None = None) -> DatabaseSettings:
    """Settings for the read-only ``bi_reader`` role."""
    owner = settings(dbname)
    password = _external_bi_password() if external_database_url() else _embedded_info().bi_password
    return DatabaseSettings(
        host=owner.host,
        port=owner.port,
        dbname=owner.dbname,
        user=BI_ROLE,
        password=password,
        mlflow_dbname=owner.mlflow_dbname,
    )


def admin_settings() -> DatabaseSettings:
    """Superuser settings on the embedded cluster; the configured URL on an external one."""
    url = external_database_url()
    if url:
        return settings_from_url(url)
    info = _embedded_info()
    return DatabaseSettings(
        host="127.0.0.1",
        port=info.port,
        dbname="postgres",
        user="postgres",
        password=info.superuser_password,
        mlflow_dbname="postgres",
    )


class WarehousePasswordError(WarehouseError):
    """The server refused the pipeline user's password; the message says where to fix it."""


def _refused_password(exc: psycopg.OperationalError) -> bool:
    return exc.sqlstate == "28P01" or "password authentication failed" in str(exc)


def compute_password_fix(s: DatabaseSettings) -> str:
    """What to do when the server refuses ``s``'s password: where that password comes from."""
    where = f"user {s.user!r} at {s.host}:{s.port}/{s.dbname}"
    if external_database_url():
        return (
            f"the warehouse refused the password of {where}: put the right password in "
            "CFZ_DATABASE_URL (postgresql://USER:PASSWORD@HOST:PORT/DB, with @ : / % in the "
            "password percent-encoded) and rerun"
        )
    return (
        f"the embedded PostgreSQL refused the password of {where} kept in "
        f"{state_dir() / 'cluster.json'}: restore that file from the copy that created the "
        "cluster (or unset CFZ_DATABASE_URL if you meant an external server)"
    )


def connect(dbname: str | None = None, autocommit: bool = False, **kwargs) -> psycopg.Connection:
    """A psycopg connection to the warehouse as the owner role.

    A refused password raises ``WarehousePasswordError`` saying where to fix it (never
    retried: it is not a transient connection error)."""
    s = settings(dbname)
    try:
        return psycopg.connect(s.conninfo, autocommit=autocommit, **kwargs)
    except psycopg.OperationalError as exc:
        if _refused_password(exc):
            raise WarehousePasswordError(compute_password_fix(s)) from exc
        raise


@contextmanager
def cursor(dbname: str | None = None) -> Iterator[psycopg.Cursor]:
    """A cursor inside one transaction, committed on success."""
    with connect(dbname) as conn, conn.cursor() as cur:
        yield cur


# Key of the session advisory lock that serializes role and database creation.
_SETUP_LOCK_KEY = 0x0CF2_5E70

#: bi_reader's session limits: setting -> (environment variable, default).
BI_ROLE_SETTINGS = {
    "idle_in_transaction_session_timeout": ("CFZ_BI_IDLE_IN_TRANSACTION_TIMEOUT", "60s"),
    "statement_timeout": ("CFZ_BI_STATEMENT_TIMEOUT", "15min"),
}
BI_CONNECTION_LIMIT = ("CFZ_BI_CONNECTION_LIMIT", "20")
#: lock_timeout of the build's and the publish's DDL (longer than the BI idle timeout).
DDL_LOCK_TIMEOUT = ("CFZ_DDL_LOCK_TIMEOUT", "120s")


def bi_role_settings() -> tuple[dict[str, str], int]:
    """bi_reader's timeouts (PostgreSQL duration strings) and connection limit, from the
    environment (``CFZ_BI_IDLE_IN_TRANSACTION_TIMEOUT``, ``CFZ_BI_STATEMENT_TIMEOUT``,
    ``CFZ_BI_CONNECTION_LIMIT``) or the defaults."""
    values = {
        name: os.environ.get(env, default).strip()
        for name, (env, default) in BI_ROLE_SETTINGS.items()
    }
    raw_limit = os.environ.get(BI_CONNECTION_LIMIT[0], BI_CONNECTION_LIMIT[1]).strip()
    try:
        limit = int(raw_limit)
    except ValueError as exc:
        raise WarehouseError(
            f"{BI_CONNECTION_LIMIT[0]} must be a whole number (-1: no limit), got {raw_limit!r}"
        ) from exc
    return values, limit


def ddl_lock_timeout() -> str:
    """How long a DDL statement of the build or the publish waits for a table lock
    (``CFZ_DDL_LOCK_TIMEOUT``, a PostgreSQL duration; default 120s)."""
    return os.environ.get(DDL_LOCK_TIMEOUT[0], DDL_LOCK_TIMEOUT[1]).strip()


def lock_holders(conn: psycopg.Connection, schemas: tuple[str, ...]) -> str:
    """Who holds locks on tables of ``schemas`` (user, application, pid, state, since when),
    for the message of a lock timeout; "" when nobody does any more."""
    rows = conn.execute(
        """
        select distinct a.pid, a.usename, coalesce(nullif(a.application_name, ''), '?'), a.state,
               coalesce(a.xact_start, a.backend_start)
        from pg_locks l
        join pg_class c on c.oid = l.relation
        join pg_namespace n on n.oid = c.relnamespace
        join pg_stat_activity a on a.pid = l.pid
        where l.granted and n.nspname = any(%s) and a.pid <> pg_backend_pid()
          and l.database = (select oid from pg_database where datname = current_database())
        order by 1
        """,
        (list(schemas),),
    ).fetchall()
    return "; ".join(
        f"{u} ({app}, pid {pid}, {state}, since {since:%H:%M:%S})"
        if state and since
        else f"{u} ({app}, pid {pid})"
        for pid, u, app, state, since in rows
    )


def _apply_bi_role_settings(cur: psycopg.Cursor, warn_only: bool) -> None:
    """ALTER ROLE bi_reader SET the timeouts and CONNECTION LIMIT (``bi_role_settings``).

    With ``warn_only`` (a role an administrator created, which this user may not alter) a
    refusal is logged once as a warning and setup goes on.
    """
    values, limit = bi_role_settings()
    bi = sql.Identifier(BI_ROLE)
    try:
        with cur.connection.transaction():
            for name, value in values.items():
                cur.execute(
                    sql.SQL("alter role {} set {} = {}").format(
                        bi, sql.Identifier(name), sql.Literal(value)
                    )
                )
            cur.execute(sql.SQL("alter role {} connection limit {}").format(bi, sql.Literal(limit)))
    except psycopg.errors.InsufficientPrivilege:
        if not warn_only:
            raise
        log.warning(
            "may not set %s's session limits (%s, connection limit %d); ask an administrator to run "
            "ALTER ROLE %s SET ... for each, and CONNECTION LIMIT",
            BI_ROLE,
            ", ".join(f"{k}={v}" for k, v in values.items()),
            limit,
            BI_ROLE,
        )
    except psycopg.errors.DataException as exc:
        raise WarehouseError(
            f"invalid bi_reader setting ({exc}); check the CFZ_BI_* environment variables"
        ) from exc


def _restrict_databases(cur: psycopg.Cursor, warehouse_db: str, others: tuple[str, ...]) -> None:
    """bi_reader connects to the warehouse database only and creates no temporary tables.

    Steps: take PUBLIC's default rights (CONNECT, TEMPORARY) away on the warehouse database
    and grant CONNECT to bi_reader alone; take PUBLIC's CONNECT away on ``others`` (databases
    of ours, or the cluster's own when it is embedded) that exist.
    """
    cur.execute(
        sql.SQL("revoke all on database {} from public").format(sql.Identifier(warehouse_db))
    )
    cur.execute(
        sql.SQL("revoke temporary on database {} from {}").format(
            sql.Identifier(warehouse_db), sql.Identifier(BI_ROLE)
        )
    )
    cur.execute(
        sql.SQL("grant connect on database {} to {}").format(
            sql.Identifier(warehouse_db), sql.Identifier(BI_ROLE)
        )
    )
    for name in others:
        cur.execute("select 1 from pg_database where datname = %s", (name,))
        if cur.fetchone():
            cur.execute(
                sql.SQL("revoke connect, temporary on database {} from public").format(
                    sql.Identifier(name)
                )
            )


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
        cur.execute(
            sql.SQL("create database {} owner {}").format(
                sql.Identifier(name), sql.Identifier(owner)
            )
        )
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
    3. revoke PUBLIC's CONNECT on the MLflow database and CREATE on ``public``;
    4. revoke the large-object functions from PUBLIC and bi_reader in the warehouse
       (``large_objects``; as the superuser when embedded; on an external server the
       pipeline user cannot, and the warning names the statement for an administrator).
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
            _apply_bi_role_settings(cur, warn_only=False)
            _ensure_database(cur, owner.dbname, OWNER_ROLE)
            _ensure_database(cur, owner.mlflow_dbname, OWNER_ROLE)
            cur.execute(
                sql.SQL("revoke all on database {} from public").format(
                    sql.Identifier(owner.mlflow_dbname)
                )
            )
            # the cluster is ours: bi_reader connects to its warehouse database and nowhere else
            _restrict_databases(
                cur, owner.dbname, ("postgres", "template1", f"{DEFAULT_WAREHOUSE_DB}_prefect")
            )
            # the owner creates the Prefect database from the maintenance database
            cur.execute(
                sql.SQL("grant connect on database postgres to {}").format(
                    sql.Identifier(OWNER_ROLE)
                )
            )
            # and may see what other sessions do (who holds a lock the build waits for)
            cur.execute(sql.SQL("grant pg_read_all_stats to {}").format(sql.Identifier(OWNER_ROLE)))
        # the large-object functions belong to the superuser: revoked in the warehouse by it
        with psycopg.connect(admin.url(owner.dbname), autocommit=True) as conn:
            restrict_large_objects(conn)
    _ensure_schemas(owner)
    return owner


def _ensure_external(owner: DatabaseSettings) -> None:
    with psycopg.connect(owner.conninfo, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("select pg_advisory_lock(%s)", (_SETUP_LOCK_KEY,))
        cur.execute("select 1 from pg_roles where rolname = %s", (BI_ROLE,))
        admin_made = bool(os.environ.get("CFZ_BI_READER_PASSWORD")) and cur.fetchone() is not None
        try:
            if not admin_made:  # a role an administrator created keeps its password
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
        _apply_bi_role_settings(cur, warn_only=admin_made)
        try:  # only the database's owner may revoke PUBLIC's rights
            _restrict_databases(cur, owner.dbname, (f"{owner.dbname}_prefect",))
        except psycopg.errors.InsufficientPrivilege:
            log.warning(
                "may not revoke PUBLIC's CONNECT and TEMPORARY on database %s (not its owner); "
                "ask its owner to, and to grant CONNECT to %s",
                owner.dbname,
                BI_ROLE,
            )
        kept = restrict_large_objects(conn)
        if kept:
            log.warning(
                "%s may still create large objects (only the functions' owner, a superuser, "
                "can revoke that); ask an administrator to run in database %s: %s",
                BI_ROLE,
                owner.dbname,
                compute_admin_sql(kept),
            )


def _ensure_schemas(owner: DatabaseSettings) -> None:
    with psycopg.connect(owner.conninfo, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("revoke create on schema public from public")
        for schema in WAREHOUSE_SCHEMAS:
            try:
                cur.execute(
                    sql.SQL("create schema if not exists {}").format(sql.Identifier(schema))
                )
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
    cur.execute(
        sql.SQL("alter default privileges in schema {} grant select on tables to {}").format(
            ident, bi
        )
    )


def drop_database(name: str, mlflow_dbname: str | None = None) -> None:
    """Drop a database and its MLflow twin (``<name>_mlflow`` unless named) in the embedded
    cluster; used by test fixtures."""
    admin = admin_settings()
    with psycopg.connect(admin.conninfo, autocommit=True) as conn, conn.cursor() as cur:
        for db in (name, mlflow_dbname or f"{name}_mlflow"):
            cur.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(db))
            )


def clone_database(template: str, name: str) -> None:
    """Create database ``name`` as a copy of ``template`` (``CREATE DATABASE ... TEMPLATE``),
    owned by the owner role; used by test fixtures to reuse one built trial.

    PostgreSQL copies the template's files, so nobody may be connected to it meanwhile. The
    copy has the template's schemas, tables, in-database grants and comments, but not its
    database-level rights (CONNECT): ``ensure_warehouse(name)`` sets those, as for any warehouse.
    """
    admin = admin_settings()
    with psycopg.connect(admin.conninfo, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create database {} template {} owner {}").format(
                sql.Identifier(name), sql.Identifier(template), sql.Identifier(OWNER_ROLE)
            )
        )
