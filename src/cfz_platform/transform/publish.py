"""Safe publishing of the marts: build into a candidate schema, swap it in atomically.

Schemas: ``marts`` (what BI reads), ``marts_candidate`` (dbt builds here, the mart gate
validates here), ``marts_previous`` (the build that was published before the current one).

Double-buffer choice: ``prepare_candidate`` turns ``marts_previous`` into the next
``marts_candidate`` (instead of starting from an empty schema), so dbt's incremental models
(``fct_lab_results`` by record; ``fct_exposure_records``, ``fct_vital_signs``,
``fct_ml_features`` by subject, ``macros/subject_scope.sql``) find their previous state and
only catch up on what changed; tables that
are not incremental are rebuilt by dbt anyway. When there is no ``marts_previous`` (the
first build after the first publish, or after a failed gate) the incremental tables are
copied from ``marts`` instead, so no nightly after the first builds them from scratch. A
candidate left over from a failed gate is dropped first (its data was not trusted, so nothing
incremental builds on it). Each rename, copy and drop moves the schema's row of
``audit.build_state`` in the same transaction. The cost: between ``prepare_candidate`` and
the next publish there is no ``marts_previous``; ``marts`` itself is untouched throughout.

``publish_candidate`` swaps in ONE transaction: drop ``marts_previous``, rename ``marts`` to
``marts_previous`` and ``marts_candidate`` to ``marts``, re-grant ``bi_reader`` and take
``bi_reader``'s access away from the non-published schemas. PostgreSQL's catalog changes
become visible at commit, so a reader sees either the old or the new ``marts``, never none.

The ADaM datasets (dbt ``models/adam``) are derived from the marts, so they travel with them:
dbt builds them into ``adam_candidate`` beside ``marts_candidate`` (``adam_schema_for``), the
mart gate validates both, and the same transaction swaps ``adam_candidate`` in as ``adam``
(the previous build kept as ``adam_previous``). A reader never sees ``adam`` and ``marts`` from
different builds. ``adlb`` and ``adex`` are incremental by subject, so ``adam_previous``
becomes ``adam_candidate`` beside ``marts_previous`` (a cold candidate copies them from
``adam``), but only when its ``audit.build_state`` row is the marts schema's: the build
records the ADaM schema with the marts, and an ADaM schema of another build (a publish that
had no ``adam_candidate``) is left out, so dbt derives those datasets whole.

Every statement here runs with ``lock_timeout`` (``warehouse.ddl_lock_timeout``, 120 s by
default): a BI session holding a lock on a table to drop (an open transaction that read
``marts`` two builds ago) makes the step fail after that long, naming the session, instead
of waiting forever; ``bi_reader``'s idle-in-transaction timeout (60 s) normally ends such a
session first.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from cfz_platform.config import BI_ROLE
from cfz_platform.db import warehouse
from cfz_platform.db.warehouse import grant_bi_reader
from cfz_platform.transform import build_state

log = logging.getLogger(__name__)

PUBLISHED = "marts"
CANDIDATE = "marts_candidate"
PREVIOUS = "marts_previous"
#: The ADaM schemas that go with each marts schema (published, candidate, previous).
ADAM_PUBLISHED = "adam"
ADAM_CANDIDATE = "adam_candidate"
ADAM_PREVIOUS = "adam_previous"
#: dbt models materialized incrementally in the marts schema (copied into a cold candidate):
#: fct_lab_results by record, the others by subject (macros/subject_scope.sql).
INCREMENTAL_MART_TABLES = (
    "fct_lab_results",
    "fct_exposure_records",
    "fct_vital_signs",
    "fct_ml_features",
)
#: The same in the ADaM schema, which travels with the marts schema.
INCREMENTAL_ADAM_TABLES = ("adlb", "adex")
#: Advisory lock key serialising prepare/publish across processes.
PUBLISH_LOCK_KEY = 7_200_417
SCHEMAS = (PUBLISHED, CANDIDATE, PREVIOUS, ADAM_PUBLISHED, ADAM_CANDIDATE, ADAM_PREVIOUS)


class PublishError(RuntimeError):
    """The candidate could not be published; ``marts`` is unchanged."""


def _set_lock_timeout(cur: psycopg.Cursor) -> None:
    """This transaction's statements wait at most ``ddl_lock_timeout`` for a table lock."""
    cur.execute(
        sql.SQL("set local lock_timeout = {}").format(sql.Literal(warehouse.ddl_lock_timeout()))
    )


def explain_lock_timeout(what: str, exc: psycopg.Error) -> str:
    """The message of a step that gave up waiting for a lock: the timeout and who holds
    locks on the mart schemas (read on a fresh connection)."""
    try:
        with warehouse.connect(autocommit=True) as conn:
            holders = warehouse.lock_holders(conn, SCHEMAS)
    except psycopg.Error:
        holders = ""
    who = f"held by {holders}" if holders else "the holder has gone since"
    return (
        f"{what} gave up after waiting {warehouse.ddl_lock_timeout()} (CFZ_DDL_LOCK_TIMEOUT) for a table "
        f"lock, {who}; rerun once that session ends ({str(exc).strip().splitlines()[0]})"
    )


def _schema_exists(cur: psycopg.Cursor, schema: str) -> bool:
    cur.execute("select 1 from pg_namespace where nspname = %s", (schema,))
    return cur.fetchone() is not None


def _revoke_bi_reader(cur: psycopg.Cursor, schema: str) -> None:
    """Unpublished schemas are not for BI (their tables may be unvalidated)."""
    ident, bi = sql.Identifier(schema), sql.Identifier(BI_ROLE)
    cur.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(ident, bi))
    cur.execute(sql.SQL("revoke usage on schema {} from {}").format(ident, bi))
    cur.execute(
        sql.SQL("alter default privileges in schema {} revoke select on tables from {}").format(
            ident, bi
        )
    )


def prepare_candidate(conn: psycopg.Connection) -> str:
    """Make ``marts_candidate`` ready for a dbt build; return its name.

    Steps (one transaction, under the publish lock):
    1. drop a leftover candidate and ADaM candidate (a build that failed its gate or was
       interrupted);
    2. if ``marts_previous`` exists, rename it to ``marts_candidate`` (double buffer), and
       ``adam_previous`` to ``adam_candidate`` when it is from the same build; else create
       ``marts_candidate`` and copy ``marts``' incremental tables into it (with their
       indexes), when ``marts`` has them, and ``adam``'s into ``adam_candidate`` when ``adam``
       is from the same build as ``marts``;
    3. move the build state with the schemas; make sure ``bi_reader`` cannot read the
       candidates.
    """
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(%s)", (PUBLISH_LOCK_KEY,))
            _set_lock_timeout(cur)
            _prepare(cur)
    except psycopg.errors.LockNotAvailable as exc:
        raise PublishError(explain_lock_timeout(f"preparing {CANDIDATE!r}", exc)) from exc
    return CANDIDATE


def _prepare(cur: psycopg.Cursor) -> None:
    """The statements of ``prepare_candidate`` (inside its transaction)."""
    for schema in (CANDIDATE, ADAM_CANDIDATE):
        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        build_state.drop_state(cur, schema)
    if _has_incremental_tables(cur, PREVIOUS, INCREMENTAL_MART_TABLES):
        _rename_schema(cur, PREVIOUS, CANDIDATE)
        if _same_build(cur, ADAM_PREVIOUS, CANDIDATE):
            _rename_schema(cur, ADAM_PREVIOUS, ADAM_CANDIDATE)
    else:
        # no usable previous build (none yet, or the empty schema the warehouse started with)
        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(PREVIOUS)))
        build_state.drop_state(cur, PREVIOUS)
        cur.execute(sql.SQL("create schema {}").format(sql.Identifier(CANDIDATE)))
        if _copy_incremental_tables(cur, PUBLISHED, CANDIDATE, INCREMENTAL_MART_TABLES):
            build_state.copy_state(cur, PUBLISHED, CANDIDATE)
            if _same_build(cur, ADAM_PUBLISHED, PUBLISHED):
                cur.execute(sql.SQL("create schema {}").format(sql.Identifier(ADAM_CANDIDATE)))
                if _copy_incremental_tables(
                    cur, ADAM_PUBLISHED, ADAM_CANDIDATE, INCREMENTAL_ADAM_TABLES
                ):
                    build_state.copy_state(cur, ADAM_PUBLISHED, ADAM_CANDIDATE)
    _revoke_bi_reader(cur, CANDIDATE)
    if _schema_exists(cur, ADAM_CANDIDATE):
        _revoke_bi_reader(cur, ADAM_CANDIDATE)


def _rename_schema(cur: psycopg.Cursor, old: str, new: str) -> None:
    """Rename a schema and move its build state with it (same transaction)."""
    cur.execute(
        sql.SQL("alter schema {} rename to {}").format(sql.Identifier(old), sql.Identifier(new))
    )
    build_state.rename_state(cur, old, new)


def _same_build(cur: psycopg.Cursor, adam_schema: str, marts_schema: str) -> bool:
    """Whether ``adam_schema`` exists and was built by the build ``marts_schema`` records:
    only then may its incremental ADaM tables go on from the marts' watermark. (Otherwise
    the ADaM candidate starts empty and dbt derives those tables whole.)"""
    if not _schema_exists(cur, adam_schema) or not build_state._table_exists(cur):
        return False
    adam = build_state.read_state(cur, adam_schema)
    return adam is not None and adam == build_state.read_state(cur, marts_schema)


def _has_incremental_tables(cur: psycopg.Cursor, schema: str, tables: tuple[str, ...]) -> bool:
    return all(
        cur.execute(
            "select to_regclass(%s) is not null", (sql.Identifier(schema, t).as_string(cur),)
        ).fetchone()[0]
        for t in tables
    )


def _copy_incremental_tables(
    cur: psycopg.Cursor, source: str, target: str, tables: tuple[str, ...]
) -> bool:
    """Copy the incremental tables ``tables`` of ``source`` into ``target``; False if any is missing."""
    if not _has_incremental_tables(cur, source, tables):
        return False
    for name in tables:
        src, dst = sql.Identifier(source, name), sql.Identifier(target, name)
        cur.execute(sql.SQL("create table {} (like {} including all)").format(dst, src))
        cur.execute(sql.SQL("insert into {} select * from {}").format(dst, src))
        cur.execute(sql.SQL("analyze {}").format(dst))
    log.info("cold candidate: copied %s from %s", ", ".join(tables), source)
    return True


def discard_candidate(conn: psycopg.Connection) -> None:
    """Drop ``marts_candidate`` and ``adam_candidate`` (after a failed gate, when the caller wants them gone)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (PUBLISH_LOCK_KEY,))
        _set_lock_timeout(cur)
        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(CANDIDATE)))
        cur.execute(
            sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(ADAM_CANDIDATE))
        )
        build_state.drop_state(cur, CANDIDATE)
        build_state.drop_state(cur, ADAM_CANDIDATE)


def _swap_adam(cur: psycopg.Cursor) -> None:
    """Swap ``adam_candidate`` in as ``adam`` (inside the caller's publish transaction)."""
    if not _schema_exists(cur, ADAM_CANDIDATE):
        return
    cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(ADAM_PREVIOUS)))
    build_state.drop_state(cur, ADAM_PREVIOUS)
    if _schema_exists(cur, ADAM_PUBLISHED):
        _rename_schema(cur, ADAM_PUBLISHED, ADAM_PREVIOUS)
        _revoke_bi_reader(cur, ADAM_PREVIOUS)
    _rename_schema(cur, ADAM_CANDIDATE, ADAM_PUBLISHED)
    grant_bi_reader(cur, ADAM_PUBLISHED)


def publish_candidate(conn: psycopg.Connection) -> None:
    """Swap ``marts_candidate`` in as ``marts`` in one transaction.

    Steps:
    1. take the publish lock; set the DDL lock timeout so a BI session cannot hang the swap;
    2. check the candidate exists (else ``PublishError``, nothing changed);
    3. drop ``marts_previous``; rename ``marts`` -> ``marts_previous`` and
       ``marts_candidate`` -> ``marts``;
    4. grant ``bi_reader`` on the new ``marts`` (usage, select, default privileges) and
       revoke it on ``marts_previous``;
    5. the same for the ADaM schemas when the build made ``adam_candidate``: drop
       ``adam_previous``, rename ``adam`` -> ``adam_previous`` and ``adam_candidate`` ->
       ``adam``, grant ``bi_reader`` on ``adam``, revoke it on ``adam_previous``;
    6. commit: readers switch from the old to the new schema at once. Any error rolls back
       the whole swap, leaving ``marts`` as it was.
    """
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(%s)", (PUBLISH_LOCK_KEY,))
            _set_lock_timeout(cur)
            if not _schema_exists(cur, CANDIDATE):
                raise PublishError(f"schema {CANDIDATE!r} does not exist: nothing to publish")
            cur.execute(
                sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(PREVIOUS))
            )
            build_state.drop_state(cur, PREVIOUS)
            if _schema_exists(cur, PUBLISHED):
                cur.execute(
                    sql.SQL("alter schema {} rename to {}").format(
                        sql.Identifier(PUBLISHED), sql.Identifier(PREVIOUS)
                    )
                )
                build_state.rename_state(cur, PUBLISHED, PREVIOUS)
            cur.execute(
                sql.SQL("alter schema {} rename to {}").format(
                    sql.Identifier(CANDIDATE), sql.Identifier(PUBLISHED)
                )
            )
            build_state.rename_state(cur, CANDIDATE, PUBLISHED)
            grant_bi_reader(cur, PUBLISHED)
            if _schema_exists(cur, PREVIOUS):
                _revoke_bi_reader(cur, PREVIOUS)
            _swap_adam(cur)
    except psycopg.errors.LockNotAvailable as exc:
        raise PublishError(
            explain_lock_timeout(f"publishing {CANDIDATE!r} ({PUBLISHED!r} is unchanged)", exc)
        ) from exc
    except psycopg.Error as exc:
        raise PublishError(
            f"publishing {CANDIDATE!r} failed, {PUBLISHED!r} is unchanged: {exc}"
        ) from exc
    log.info("published %s as %s (previous build kept as %s)", CANDIDATE, PUBLISHED, PREVIOUS)
