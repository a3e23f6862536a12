"""Safe publishing of the marts: build into a candidate schema, swap it in atomically.

Schemas: ``marts`` (what BI reads), ``marts_candidate`` (dbt builds here, the mart gate
validates here), ``marts_previous`` (the build that was published before the current one).

Double-buffer choice: ``prepare_candidate`` turns ``marts_previous`` into the next
``marts_candidate`` (instead of starting from an empty schema), so dbt's incremental models
(``fct_lab_results``) find their previous state and only catch up on new rows; tables that
are not incremental are rebuilt by dbt anyway. A candidate left over from a failed gate is
dropped first (its data was not trusted, so nothing incremental builds on it); the build after
a failure is therefore a full one. The cost: between ``prepare_candidate`` and the next
publish there is no ``marts_previous``; ``marts`` itself is untouched throughout.

``publish_candidate`` swaps in ONE transaction: drop ``marts_previous``, rename ``marts`` to
``marts_previous`` and ``marts_candidate`` to ``marts``, re-grant ``bi_reader`` and take
``bi_reader``'s access away from the non-published schemas. PostgreSQL's catalog changes
become visible at commit, so a reader sees either the old or the new ``marts``, never none.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from cfz_platform.config import BI_ROLE
from cfz_platform.db.warehouse import grant_bi_reader

log = logging.getLogger(__name__)

PUBLISHED = "marts"
CANDIDATE = "marts_candidate"
PREVIOUS = "marts_previous"
#: Advisory lock key serialising prepare/publish across processes.
PUBLISH_LOCK_KEY = 7_200_417
#: How long the swap may wait for a reader's lock before giving up (marts stays as it was).
LOCK_TIMEOUT = "60s"


class PublishError(RuntimeError):
    """The candidate could not be published; ``marts`` is unchanged."""


def _schema_exists(cur: psycopg.Cursor, schema: str) -> bool:
    cur.execute("select 1 from pg_namespace where nspname = %s", (schema,))
    return cur.fetchone() is not None


def _revoke_bi_reader(cur: psycopg.Cursor, schema: str) -> None:
    """Unpublished schemas are not for BI (their tables may be unvalidated)."""
    ident, bi = sql.Identifier(schema), sql.Identifier(BI_ROLE)
    cur.execute(sql.SQL("revoke all on all tables in schema {} from {}").format(ident, bi))
    cur.execute(sql.SQL("revoke usage on schema {} from {}").format(ident, bi))
    cur.execute(sql.SQL("alter default privileges in schema {} revoke select on tables from {}").format(ident, bi))


def prepare_candidate(conn: psycopg.Connection) -> str:
    """Make ``marts_candidate`` ready for a dbt build; return its name.

    Steps (one transaction, under the publish lock):
    1. drop a leftover candidate (a build that failed its gate or was interrupted);
    2. if ``marts_previous`` exists, rename it to ``marts_candidate`` (double buffer), else
       create an empty ``marts_candidate``;
    3. make sure ``bi_reader`` cannot read the candidate.
    """
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (PUBLISH_LOCK_KEY,))
        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(CANDIDATE)))
        if _schema_exists(cur, PREVIOUS):
            cur.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(PREVIOUS), sql.Identifier(CANDIDATE)))
        else:
            cur.execute(sql.SQL("create schema {}").format(sql.Identifier(CANDIDATE)))
        _revoke_bi_reader(cur, CANDIDATE)
    return CANDIDATE


def discard_candidate(conn: psycopg.Connection) -> None:
    """Drop ``marts_candidate`` (after a failed gate, when the caller wants it gone)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.execute("select pg_advisory_xact_lock(%s)", (PUBLISH_LOCK_KEY,))
        cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(CANDIDATE)))


def publish_candidate(conn: psycopg.Connection) -> None:
    """Swap ``marts_candidate`` in as ``marts`` in one transaction.

    Steps:
    1. take the publish lock; set a lock timeout so a long BI query cannot hang the swap;
    2. check the candidate exists (else ``PublishError``, nothing changed);
    3. drop ``marts_previous``; rename ``marts`` -> ``marts_previous`` and
       ``marts_candidate`` -> ``marts``;
    4. grant ``bi_reader`` on the new ``marts`` (usage, select, default privileges) and
       revoke it on ``marts_previous``;
    5. commit: readers switch from the old to the new schema at once. Any error rolls back
       the whole swap, leaving ``marts`` as it was.
    """
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("select pg_advisory_xact_lock(%s)", (PUBLISH_LOCK_KEY,))
            cur.execute(sql.SQL("set local lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
            if not _schema_exists(cur, CANDIDATE):
                raise PublishError(f"schema {CANDIDATE!r} does not exist: nothing to publish")
            cur.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(PREVIOUS)))
            if _schema_exists(cur, PUBLISHED):
                cur.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(PUBLISHED), sql.Identifier(PREVIOUS)))
            cur.execute(sql.SQL("alter schema {} rename to {}").format(sql.Identifier(CANDIDATE), sql.Identifier(PUBLISHED)))
            grant_bi_reader(cur, PUBLISHED)
            if _schema_exists(cur, PREVIOUS):
                _revoke_bi_reader(cur, PREVIOUS)
    except psycopg.Error as exc:
        raise PublishError(f"publishing {CANDIDATE!r} failed, {PUBLISHED!r} is unchanged: {exc}") from exc
    log.info("published %s as %s (previous build kept as %s)", CANDIDATE, PUBLISHED, PREVIOUS)
