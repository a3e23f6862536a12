"""Large objects: nobody but a superuser may create, write or read them in the warehouse.

PostgreSQL lets every role create large objects (``lo_from_bytea``, ``lo_create``,
``lowrite``...): ``bi_reader`` could fill the disk (64 MB written in one statement) with data
that no schema grant governs. The pipeline uses none. The server-side functions are
executable by PUBLIC; they belong to the bootstrap superuser, so only a superuser can take
that right away (a database owner's REVOKE is a no-op with a warning).

Steps of ``restrict_large_objects`` (on a connection to the warehouse database):
1. revoke EXECUTE on every large-object function (``LARGE_OBJECT_FUNCTIONS``) from PUBLIC
   and from ``bi_reader`` (a role with no right on a function at all is refused: go on);
2. return the functions ``bi_reader`` may still execute (none when the connection's role
   owns them; otherwise the caller tells an administrator what to run, ``compute_admin_sql``).
The client's fast-path large-object calls (libpq ``lo_creat``...) run the same functions
and are refused too. ``lo_compat_privileges`` stays off (PostgreSQL's default).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from cfz_platform.config import BI_ROLE

#: Every server-side large-object function (create, open, read, write, truncate, unlink).
LARGE_OBJECT_FUNCTIONS = (
    "lo_creat(integer)",
    "lo_create(oid)",
    "lo_from_bytea(oid, bytea)",
    "lo_import(text)",
    "lo_import(text, oid)",
    "lo_export(oid, text)",
    "lo_open(oid, integer)",
    "lo_close(integer)",
    "loread(integer, integer)",
    "lowrite(integer, bytea)",
    "lo_lseek(integer, integer, integer)",
    "lo_lseek64(integer, bigint, integer)",
    "lo_tell(integer)",
    "lo_tell64(integer)",
    "lo_truncate(integer, integer)",
    "lo_truncate64(integer, bigint)",
    "lo_unlink(oid)",
    "lo_get(oid)",
    "lo_get(oid, bigint, integer)",
    "lo_put(oid, bigint, bytea)",
)


def compute_admin_sql(functions: list[str]) -> str:
    """The statement an administrator runs (in the warehouse database) to revoke ``functions``."""
    return f"REVOKE EXECUTE ON FUNCTION {', '.join(functions)} FROM PUBLIC, {BI_ROLE};"


def restrict_large_objects(conn: psycopg.Connection) -> list[str]:
    """Revoke the large-object functions (module docstring); return those ``bi_reader`` keeps."""
    bi = sql.Identifier(BI_ROLE)
    with conn.cursor() as cur:
        for signature in LARGE_OBJECT_FUNCTIONS:
            try:
                with conn.transaction():
                    cur.execute(
                        sql.SQL("revoke execute on function {} from public, {}").format(
                            sql.SQL(signature), bi
                        )
                    )
            except psycopg.errors.InsufficientPrivilege:
                continue  # not the owner, no right on it at all: counted below
        cur.execute(
            "select f from unnest(%s::text[]) f "
            "where has_function_privilege(%s, f::regprocedure, 'execute')",
            (list(LARGE_OBJECT_FUNCTIONS), BI_ROLE),
        )
        return [r[0] for r in cur.fetchall()]
