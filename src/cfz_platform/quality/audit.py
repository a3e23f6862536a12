"""Where gate results are kept: ``audit.quality_results`` and a Prefect markdown artifact."""

from __future__ import annotations

import json
import logging
import sys

import psycopg
from psycopg.types.json import Jsonb

from cfz_platform.quality.results import GateReport

log = logging.getLogger(__name__)

DDL = """
create table if not exists audit.quality_results (
    run_id text not null,
    gate text not null,
    schema_name text not null,
    suite text not null,
    expectation text not null,
    expectation_type text not null,
    column_name text,
    severity text not null check (severity in ('blocking', 'warning')),
    success boolean not null,
    unexpected_count bigint,
    sample jsonb,
    listing_sql text,
    error text,
    checked_at timestamptz not null default now()
)
"""


def ensure_quality_results(conn: psycopg.Connection) -> None:
    """Create ``audit.quality_results`` when missing."""
    conn.execute("create schema if not exists audit")
    conn.execute(DDL)


def record_report(conn: psycopg.Connection, report: GateReport) -> int:
    """Append one row per evaluated expectation of ``report``; return the number of rows.

    Steps: ensure the table; insert every result with its sample as JSON (at most a handful
    of rows, already bounded by the runner) in one transaction.
    """
    ensure_quality_results(conn)
    rows = [
        (
            report.run_id,
            report.gate,
            report.schema,
            r.suite,
            r.check,
            r.expectation,
            r.column,
            r.severity,
            r.success,
            r.unexpected_count,
            Jsonb(json.loads(json.dumps(r.sample, default=str))) if r.sample else None,
            r.listing_sql,
            r.error,
        )
        for r in report.results
    ]
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "insert into audit.quality_results (run_id, gate, schema_name, suite, expectation, expectation_type, "
            "column_name, severity, success, unexpected_count, sample, listing_sql, error) "
            "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    return len(rows)


def publish_artifact(report: GateReport) -> str | None:
    """Create a Prefect markdown artifact of the report when running inside a flow run.

    A flow run has imported Prefect already: when it is not imported, there is no flow run
    and Prefect is not imported to find that out (2 s of a ``cfz transform``'s start)."""
    if "prefect" not in sys.modules:
        return None
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        return None
    from prefect.artifacts import create_markdown_artifact

    key = f"quality-{report.gate}-gate"
    create_markdown_artifact(
        markdown=report.markdown(), key=key, description=f"{report.gate} gate on {report.schema}"
    )
    return key
