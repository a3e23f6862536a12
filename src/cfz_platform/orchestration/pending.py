"""What the warehouse still owes: loaded files not yet published, response data not yet trained on.

The nightly decides from the warehouse's state, never from "what this run loaded": a run
killed after loading leaves its files in raw, and the rerun (which loads nothing new) must
still build, publish and train on them.

- Published: ``audit.build_state`` holds the file id the published ``marts`` was built
  through (its upper watermark).
- Trained: ``audit.train_state`` holds, per registered model, the last LB/RS/DM file id the
  nightly's training step has seen (trained on, or found unchanged), recorded only when
  that step completed.
"""

from __future__ import annotations

import psycopg

#: Domains whose data feed the early-response model (labs, responses, demographics).
RESPONSE_DOMAINS = ("lb", "rs", "dm")

DDL = """
create table if not exists audit.train_state (
    model           text primary key,
    through_file_id bigint not null,
    decided_at      timestamptz not null default now()
)
"""


def _exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()[0]


def published_through(conn: psycopg.Connection) -> int:
    """The upper watermark of the published ``marts`` (0: nothing published yet)."""
    if not _exists(conn, "audit.build_state"):
        return 0
    row = conn.execute(
        "select through_file_id from audit.build_state where schema_name = 'marts'"
    ).fetchone()
    return int(row[0]) if row else 0


def files_waiting_for_build(conn: psycopg.Connection) -> int:
    """Loaded files after the published build's watermark (they are not in ``marts`` yet)."""
    if not _exists(conn, "audit.ingest_files"):
        return 0
    return conn.execute(
        "select count(*) from audit.ingest_files where status = 'loaded' and file_id > %s",
        (published_through(conn),),
    ).fetchone()[0]


def response_data_through(conn: psycopg.Connection, through: int | None = None) -> int:
    """The last loaded LB/RS/DM file id up to ``through`` (default: the published build's)."""
    if not _exists(conn, "audit.ingest_files"):
        return 0
    limit = published_through(conn) if through is None else through
    return conn.execute(
        "select coalesce(max(file_id), 0) from audit.ingest_files "
        "where status = 'loaded' and lower(domain) = any(%s) and file_id <= %s",
        (list(RESPONSE_DOMAINS), limit),
    ).fetchone()[0]


def trained_through(conn: psycopg.Connection, model: str) -> int:
    """The LB/RS/DM file id the last completed training step saw (0: never)."""
    if not _exists(conn, "audit.train_state"):
        return 0
    row = conn.execute(
        "select through_file_id from audit.train_state where model = %s", (model,)
    ).fetchone()
    return int(row[0]) if row else 0


def response_data_waiting_for_training(conn: psycopg.Connection, model: str) -> bool:
    """True when published LB/RS/DM data arrived after what training last saw."""
    return response_data_through(conn) > trained_through(conn, model)


def record_training_seen(conn: psycopg.Connection, model: str, through: int) -> None:
    """The training step completed having seen response data up to file ``through``."""
    conn.execute(DDL)
    conn.execute(
        """
        insert into audit.train_state (model, through_file_id, decided_at) values (%s, %s, now())
        on conflict (model) do update set through_file_id = excluded.through_file_id, decided_at = now()
        """,
        (model, through),
    )
