"""The raw gate's incremental batches and its watermark (see the package docstring).

``prepare_batches`` materializes, per domain, the current records the gate must check into
``quality_batch.<domain>``; ``record_pass`` moves the watermark after a passing gate.
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from cfz_platform.contract.domains import DOMAINS
from cfz_platform.ingest.schema import read_raw_catalog
from cfz_platform.quality.raw_gate.current import BATCH_SCHEMA, current_query
from cfz_platform.quality.raw_gate.suites import suites_fingerprint
from cfz_platform.quality.specs import SuiteSpec

WATERMARKS = "raw_gate_watermarks"  # in schema audit


def _ensure_watermarks(cur: psycopg.Cursor) -> None:
    cur.execute(
        sql.SQL(
            "create table if not exists audit.{} (run_id text not null, covered_through text not null, "
            "fingerprint text not null, passed_at timestamptz not null default now(), through_file_id bigint)"
        ).format(sql.Identifier(WATERMARKS))
    )
    cur.execute(
        sql.SQL("alter table audit.{} add column if not exists through_file_id bigint").format(
            sql.Identifier(WATERMARKS)
        )
    )


#: No upper watermark: every loaded file (``cfz validate``).
ALL_FILES = 2**62


def resent_domains(cur: psycopg.Cursor, since_file: int, upper: int) -> set[str]:
    """Domains with a file re-sent since the last passing gate (file id above ``since_file``,
    at most ``upper``) that supersedes an earlier loaded file of the same path and delivery.

    Such a re-send can make older rows current again: a record that only the superseded file
    held falls back to an earlier delivery's version, which no recent file carries.
    """
    cur.execute(
        "select distinct n.domain from audit.ingest_files n where n.status = 'loaded' "
        "and n.file_id > %s and n.file_id <= %s and n.domain is not null and exists ("
        "select 1 from audit.ingest_files o where o.status = 'loaded' "
        "and o.delivery_id = n.delivery_id and o.rel_path = n.rel_path and o.file_id < n.file_id)",
        (since_file, upper),
    )
    return {r[0] for r in cur.fetchall()}


def prepare_batches(
    conn: psycopg.Connection,
    suites: list[SuiteSpec] | None = None,
    through_file_id: int | None = None,
) -> str | None:
    """Materialize each domain's batch; return the latest delivery it covers (None: nothing new).

    ``through_file_id`` is the build's upper watermark (fixed before this gate): rows of
    files loaded after it are left for the next gate, exactly as the build leaves them.

    Steps (one transaction):
    1. read the watermark: the latest delivery and the last file covered by a passing raw
       gate with the same suites fingerprint ('' and 0 when none: a full check);
    2. per contract domain, (re)create ``quality_batch.<domain>`` as the current records
       (``current_query``: superseded files dropped, newest delivery then newest file) among
       the rows of deliveries after the watermark or of files loaded after the last pass (a
       late or re-sent file of an older delivery, a file loaded while the last build ran), up
       to ``through_file_id``, and analyze it. A domain with a file re-sent since the last
       pass (``resent_domains``) is checked whole: every record current in the build, for a
       record the re-sent file no longer holds falls back to an older version (feeds.md: the
       gate checks every row that will be current in the build it gates, a value it blocked
       once included);
    3. return the latest delivery id found in the batches.
    """
    fingerprint = suites_fingerprint(suites)
    upper = ALL_FILES if through_file_id is None else through_file_id
    latest: str | None = None
    with conn.transaction(), conn.cursor() as cur:
        _ensure_watermarks(cur)
        cur.execute(
            sql.SQL(
                "select coalesce(max(covered_through), ''), coalesce(max(through_file_id), 0) "
                "from audit.{} where fingerprint = %s"
            ).format(sql.Identifier(WATERMARKS)),
            (fingerprint,),
        )
        since, since_file = cur.fetchone()
        resent = resent_domains(cur, since_file, upper)
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(BATCH_SCHEMA)))
        catalog = read_raw_catalog(cur)
        for domain in sorted(DOMAINS):
            table = sql.Identifier(BATCH_SCHEMA, domain)
            cur.execute(sql.SQL("drop table if exists {}").format(table))
            where = "r._file_id <= %(upper)s"
            if domain not in resent:
                where = f"(r._delivery_id > %(since)s or r._file_id > %(since_file)s) and {where}"
            query = current_query(
                domain,
                where=where,
                through_file_id=upper,
                present=catalog[domain].columns if domain in catalog else set(),
            )
            cur.execute(
                sql.SQL("create unlogged table {} as ").format(table) + sql.SQL(query),
                {"since": since, "since_file": since_file, "upper": upper},
            )
            cur.execute(sql.SQL("analyze {}").format(table))
            cur.execute(sql.SQL("select max(_delivery_id) from {}").format(table))
            top = cur.fetchone()[0]
            if top is not None and (latest is None or top > latest):
                latest = top
    return latest


def record_pass(
    conn: psycopg.Connection,
    run_id: str,
    covered_through: str | None,
    suites: list[SuiteSpec] | None = None,
    through_file_id: int | None = None,
) -> None:
    """Move the watermark after a passing raw gate (nothing to do when the batch was empty);
    ``through_file_id``: the upper watermark the gate checked up to (None: not bounded)."""
    if covered_through is None:
        return
    with conn.transaction(), conn.cursor() as cur:
        _ensure_watermarks(cur)
        cur.execute(
            sql.SQL(
                "insert into audit.{} (run_id, covered_through, fingerprint, through_file_id) "
                "values (%s, %s, %s, %s)"
            ).format(sql.Identifier(WATERMARKS)),
            (run_id, covered_through, suites_fingerprint(suites), through_file_id),
        )
