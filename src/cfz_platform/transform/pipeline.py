"""``cfz transform`` and ``cfz validate``: gates, dbt build into a candidate, publish.

``run_transform`` never lets an unvalidated build reach ``marts``: dbt writes to
``marts_candidate``, the mart gate validates it there, and only a pass swaps it in
(``cfz_platform.transform.publish``). Every gate run is recorded in ``audit.quality_results``
and, inside a Prefect flow run, as a markdown artifact.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from cfz_platform.db import warehouse
from cfz_platform.ingest import ensure_raw_layer
from cfz_platform.ingest.statistics import analyze_changed_raw_tables
from cfz_platform.quality import (
    GateReport,
    QualityGateFailed,
    publish_artifact,
    record_report,
    run_gate,
)
from cfz_platform.stats import write_endpoint_tables
from cfz_platform.transform import publish
from cfz_platform.transform.build import build_marts, underivable_endpoints

log = logging.getLogger(__name__)


class NothingLoadedError(RuntimeError):
    """The raw layer holds no loaded file: there is nothing to gate, build or publish."""


@dataclass
class TransformResult:
    """What one transform run did."""

    run_id: str
    published: bool
    reports: list[GateReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list:
        return [w for r in self.reports for w in r.warnings]


def fix_watermark() -> int:
    """The upper watermark of one transform: the last file whose rows are all in raw now.

    Fixed before the raw gate; the gate checks and dbt builds raw up to it and no further,
    so a file an ingest loads meanwhile waits for the next transform and its gate
    (``build_state.loaded_through``)."""
    from cfz_platform.transform import build_state

    with warehouse.connect(autocommit=True) as conn:
        through = build_state.loaded_through(conn)
    log.info(
        "raw is read through file %d (files loaded from now on wait for the next build)", through
    )
    return through


def gate(
    name: str, run_id: str, marts_schema: str = "marts", through_file_id: int | None = None
) -> GateReport:
    """Run one gate, record it (audit table, Prefect artifact), and return its report.

    The raw gate checks raw up to ``through_file_id`` (the build's upper watermark). A passing
    raw gate moves the raw gate's watermark (``raw_gate.record_pass``): the next run checks
    only deliveries and files that arrived after it. Before the raw gate, the raw tables
    with files loaded since their last analysis get fresh planner statistics
    (``ingest.statistics.analyze_changed_raw_tables``): the gate and the dbt build after it
    read the new rows next."""
    if name == "raw":
        analyze_changed_raw_tables()
    report = run_gate(
        name, marts_schema=marts_schema, run_id=run_id, through_file_id=through_file_id
    )
    with warehouse.connect(autocommit=True) as conn:
        record_report(conn, report)
        if name == "raw" and report.passed:
            from cfz_platform.quality.raw_gate import record_pass

            record_pass(conn, run_id, report.covered_through, through_file_id=through_file_id)
    publish_artifact(report)
    log.info("%s", report.explain())
    return report


def ensure_raw() -> None:
    """Create the raw layer and audit tables when missing (ingestion's contract)."""
    with warehouse.connect() as conn:
        ensure_raw_layer(conn)
        conn.commit()


def build_candidate(
    schema: str, notes: list[str], full_refresh: bool = False, through_file_id: int | None = None
) -> None:
    """dbt build (seeds included on a full build) into ``schema`` (incremental unless
    ``full_refresh`` or the dbt project changed) reading raw up to ``through_file_id``, the
    endpoint statistics tables, and the endpoints the data could not support (as notes)."""
    # unit tests test SQL logic, not data: they run in CI
    build_marts(
        schema, full_refresh=full_refresh, unit_tests=False, through_file_id=through_file_id
    )
    with warehouse.connect() as conn:
        write_endpoint_tables(conn, schema)
        conn.commit()
    for gap in underivable_endpoints(schema):
        notes.append(f"not derivable: {gap.endpoint}: {gap.reason}")


def run_transform(
    run_id: str | None = None,
    build: Callable[[str, list[str]], None] | None = None,
    full_refresh: bool = False,
) -> TransformResult:
    """Raw gate -> dbt build into ``marts_candidate`` -> mart gate -> publish.

    The caller holds the warehouse lock (``orchestration.lock``): one transform at a time.

    Steps:
    1. ensure the raw layer exists; fix the upper watermark (``fix_watermark``); with no
       loaded file at all stop with ``NothingLoadedError`` (an empty build would replace
       ``marts`` with empty tables); run the raw gate up to the watermark; a blocking failure stops here (``QualityGateFailed``), nothing is
       built, ``marts`` untouched;
    2. prepare ``marts_candidate`` (double buffer, see ``publish``) and build it (dbt reading
       raw up to the same watermark, incremental unless ``full_refresh``, then
       ``write_endpoint_tables``); ``build`` replaces this step in tests;
    3. run the mart gate on ``marts_candidate``; a blocking failure raises
       ``QualityGateFailed`` naming each failing expectation, sample rows and the SQL to list
       them; ``marts`` keeps the last good build;
    4. publish: swap the candidate in, in one transaction.
    """
    run_id = run_id or uuid.uuid4().hex[:12]
    result = TransformResult(run_id=run_id, published=False)
    ensure_raw()
    through = fix_watermark()
    if through == 0:
        raise NothingLoadedError(
            "nothing is loaded in the warehouse yet (audit.ingest_files lists no loaded file): "
            "load a delivery with `cfz ingest --landing DIR` first; nothing was published"
        )
    raw = gate("raw", run_id, through_file_id=through)
    result.reports.append(raw)
    if not raw.passed:
        raise QualityGateFailed(raw)
    with warehouse.connect() as conn:
        candidate = publish.prepare_candidate(conn)
    if build is not None:
        build(candidate, result.notes)
    else:
        build_candidate(candidate, result.notes, full_refresh=full_refresh, through_file_id=through)
    mart = gate("mart", run_id, marts_schema=candidate)
    result.reports.append(mart)
    if not mart.passed:
        raise QualityGateFailed(mart)
    with warehouse.connect() as conn:
        publish.publish_candidate(conn)
    result.published = True
    return result


def run_validate(run_id: str | None = None, marts_schema: str = "marts") -> list[GateReport]:
    """Run both gates against what is in the warehouse now (raw layer and ``marts_schema``)."""
    from cfz_platform.quality.runner import check_schema

    run_id = run_id or uuid.uuid4().hex[:12]
    check_schema(marts_schema)
    ensure_raw()  # a warehouse with no delivery yet validates (empty raw) instead of crashing
    return [
        gate("raw", run_id, through_file_id=fix_watermark()),
        gate("mart", run_id, marts_schema=marts_schema),
    ]
