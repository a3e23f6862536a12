"""What each built schema contains, so the next dbt build can be incremental.

``audit.build_state`` keeps one row per schema dbt builds into (``staging`` and the marts
schemas): the last ``audit.ingest_files.file_id`` included (raw is append-only and file ids
grow with every loaded file) and the fingerprint of the dbt project (models, macros, seeds,
``dbt_project.yml`` with its vars) it was built with. ``plan_build`` turns that into the dbt vars
``staging_since_file_id`` / ``marts_since_file_id`` (see ``dbt/macros/incremental.sql``) or
into a full refresh when the code or reference data changed. Every build also gets
``raw_through_file_id``, the upper watermark: the build reads raw rows of files up to it and
no further, and ``through_file_id`` records exactly that (so a file loaded while the build
runs is read by the next build, after the next raw gate). The publish double buffer
renames schemas; ``rename_state`` / ``drop_state`` keep the rows with them inside the same
transaction.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

import psycopg

from cfz_platform.config import adam_schema_for, dbt_project_dir
from cfz_platform.ingest.ledger import RUN_LOCK_KEY

log = logging.getLogger(__name__)

STAGING_SCHEMA = "staging"

DDL = """
create table if not exists audit.build_state (
    schema_name     text primary key,
    through_file_id bigint not null,
    fingerprint     text not null,
    built_at        timestamptz not null default now()
)
"""
#: What shapes the tables (data tests under tests/ only read them, so they are left out).
_PROJECT_PARTS = ("models", "macros", "seeds", "dbt_project.yml")


@dataclass(frozen=True)
class BuildPlan:
    """How the next dbt build runs: full or incremental since the recorded file ids."""

    full_refresh: bool
    reason: str
    through_file_id: int
    fingerprint: str
    staging_since: int | None = None
    marts_since: int | None = None

    def dbt_vars(self) -> dict[str, int]:
        upper = {"raw_through_file_id": self.through_file_id}
        if self.full_refresh:
            return upper
        return {
            **upper,
            "staging_since_file_id": self.staging_since,
            "marts_since_file_id": self.marts_since,
        }


def compute_project_fingerprint() -> str:
    """sha256 of every file of the dbt project that shapes the data.

    Steps: walk models/, macros/, seeds/ and dbt_project.yml in path order; hash each
    relative path and its bytes. Any change to a model, macro, seed or threshold var therefore
    forces a full rebuild.
    """
    root = dbt_project_dir()
    h = hashlib.sha256()
    for part in _PROJECT_PARTS:
        base = root / part
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for f in files:
            h.update(str(f.relative_to(root)).encode())
            h.update(b"\0")
            h.update(f.read_bytes())
    return h.hexdigest()


def ensure_table(conn: psycopg.Connection) -> None:
    conn.execute(DDL)


def loaded_through(conn: psycopg.Connection) -> int:
    """The highest file id whose rows are all committed in raw: a build's upper watermark.

    Fixed once per transform, before its raw gate (``pipeline.run_transform``); the gate and
    the dbt build then read raw up to it and no further.

    Steps: wait for the ingestion run lock (an ingest in progress may hold a lower file id
    that is not committed yet; its files are committed whole, so this wait ends with it),
    read ``max(file_id)`` of loaded files, release the lock. Files an ingest loads after this
    get higher ids (the id sequence only grows) and wait for the next build.
    """
    if not conn.execute("select to_regclass('audit.ingest_files') is not null").fetchone()[0]:
        return 0
    conn.execute("select pg_advisory_lock(%s)", (RUN_LOCK_KEY,))
    try:
        row = conn.execute(
            "select coalesce(max(file_id), 0) from audit.ingest_files where status = 'loaded'"
        ).fetchone()
    finally:
        conn.execute("select pg_advisory_unlock(%s)", (RUN_LOCK_KEY,))
    return int(row[0])


def read_state(conn: psycopg.Connection, schema: str) -> tuple[int, str] | None:
    row = conn.execute(
        "select through_file_id, fingerprint from audit.build_state where schema_name = %s",
        (schema,),
    ).fetchone()
    return (int(row[0]), row[1]) if row else None


def _schema_has_tables(conn: psycopg.Connection, schema: str) -> bool:
    return conn.execute(
        "select exists (select 1 from pg_tables where schemaname = %s)", (schema,)
    ).fetchone()[0]


def plan_build(
    conn: psycopg.Connection,
    marts_schema: str,
    fingerprint: str,
    through_file_id: int | None = None,
) -> BuildPlan:
    """Decide between an incremental and a full build of ``staging`` + ``marts_schema``.

    Steps:
    1. the upper watermark: ``through_file_id`` when the caller fixed it (before its raw gate),
       else the file id raw is complete through now (``loaded_through``);
    2. read the recorded state of ``staging`` and of ``marts_schema``;
    3. full refresh when either has no state (first build, a candidate started empty) or was
       built with another fingerprint (a model, macro, seed or var changed); an empty marts
       schema needs no refresh flag (dbt builds it from scratch) but staging is refreshed
       only when its own state says so;
    4. full refresh when, for either schema, a file loaded since its build supersedes a file
       loaded before it (``resent_since``: a re-sent file replaces the older one whole, and
       keys only the older one held fall back to earlier deliveries, which an incremental
       read of the new rows cannot see);
    5. otherwise incremental, each schema since its own file id.
    """
    ensure_table(conn)
    through = loaded_through(conn) if through_file_id is None else through_file_id
    staging = read_state(conn, STAGING_SCHEMA)
    marts = read_state(conn, marts_schema)
    if staging is None or staging[1] != fingerprint:
        why = (
            "no recorded staging build"
            if staging is None
            else "the dbt project or its vars changed"
        )
        return BuildPlan(True, why, through, fingerprint)
    if max(staging[0], marts[0] if marts else 0) > through:
        # built beyond this build's watermark (only possible without the warehouse lock)
        return BuildPlan(True, f"a schema holds files after file {through}", through, fingerprint)
    if marts is None or marts[1] != fingerprint:
        if (
            marts is None
            and not _schema_has_tables(conn, marts_schema)
            and not resent_since(conn, staging[0])
        ):
            # empty candidate: marts models build from scratch anyway; staging stays incremental
            return BuildPlan(
                False,
                f"{marts_schema} is empty: marts built in full, staging incremental",
                through,
                fingerprint,
                staging_since=staging[0],
                marts_since=None,
            )
        why = (
            f"no recorded build of {marts_schema}"
            if marts is None
            else "the dbt project or its vars changed"
        )
        return BuildPlan(True, why, through, fingerprint)
    if resent_since(conn, staging[0]) or resent_since(conn, marts[0]):
        return BuildPlan(
            True,
            "a file was re-sent under its delivery id since the last build",
            through,
            fingerprint,
        )
    return BuildPlan(
        False,
        f"incremental: staging since file {staging[0]}, {marts_schema} since file {marts[0]}",
        through,
        fingerprint,
        staging_since=staging[0],
        marts_since=marts[0],
    )


def resent_since(conn: psycopg.Connection, since: int) -> bool:
    """Whether a file loaded after ``since`` has the path and delivery of an older loaded file."""
    return conn.execute(
        "select exists (select 1 from audit.ingest_files n join audit.ingest_files o "
        "on o.delivery_id = n.delivery_id and o.rel_path = n.rel_path and o.file_id < n.file_id "
        "where n.status = 'loaded' and o.status = 'loaded' and n.file_id > %s and o.file_id <= %s)",
        (since, since),
    ).fetchone()[0]


def built_schemas(marts_schema: str) -> tuple[str, str, str]:
    """The schemas one build of ``marts_schema`` writes: staging, the marts, their ADaM schema."""
    return (STAGING_SCHEMA, marts_schema, adam_schema_for(marts_schema))


def record_build(conn: psycopg.Connection, marts_schema: str, plan: BuildPlan) -> None:
    """After a successful build: staging, the marts schema and its ADaM schema (whose
    subject-scoped tables are incremental too) hold every file up to the plan's upper
    watermark (the one the build read), and nothing after it."""
    ensure_table(conn)
    for schema in built_schemas(marts_schema):
        conn.execute(
            """
            insert into audit.build_state (schema_name, through_file_id, fingerprint, built_at)
            values (%s, %s, %s, now())
            on conflict (schema_name) do update
              set through_file_id = excluded.through_file_id, fingerprint = excluded.fingerprint,
                  built_at = excluded.built_at
            """,
            (schema, plan.through_file_id, plan.fingerprint),
        )


def drop_state(cur: psycopg.Connection | psycopg.Cursor, schema: str) -> None:
    """``schema`` has no usable state: it was dropped (same transaction as the drop), or it is
    about to be rebuilt in full."""
    if _table_exists(cur):
        cur.execute("delete from audit.build_state where schema_name = %s", (schema,))


def rename_state(cur: psycopg.Cursor, old: str, new: str) -> None:
    """The schema was renamed (same transaction as the rename)."""
    if _table_exists(cur):
        cur.execute("delete from audit.build_state where schema_name = %s", (new,))
        cur.execute(
            "update audit.build_state set schema_name = %s where schema_name = %s", (new, old)
        )


def copy_state(cur: psycopg.Cursor, source: str, target: str) -> None:
    """``target`` now holds copies of ``source``'s incremental tables."""
    if _table_exists(cur):
        cur.execute("delete from audit.build_state where schema_name = %s", (target,))
        cur.execute(
            """insert into audit.build_state (schema_name, through_file_id, fingerprint, built_at)
               select %s, through_file_id, fingerprint, built_at from audit.build_state where schema_name = %s""",
            (target, source),
        )


def _table_exists(conn_or_cur: psycopg.Connection | psycopg.Cursor) -> bool:
    return conn_or_cur.execute("select to_regclass('audit.build_state') is not null").fetchone()[0]
