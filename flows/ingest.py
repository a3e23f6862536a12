"""Prefect flow ``ingest_feeds``: load new landing deliveries into the raw layer.

Thin by design: the work is ``cfz_platform.ingest.run_ingest``. Steps: run it with the flow
run's id as the run id and the flow's logger; publish a table artifact (one row per file)
and the summary in the log; return the summary as a dict.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from cfz_platform.ingest import run_ingest
from cfz_platform.orchestration.run_logging import prepare_flow_process

# a worker-started run logs like a `cfz` one (orchestration/run_logging.py)
prepare_flow_process()


@flow(name="ingest_feeds")
def ingest_feeds(landing: str) -> dict:
    """Ingest every new file version under ``landing`` (see feeds.md)."""
    logger = get_run_logger()
    run_id = str(flow_run.get_id() or "") or None
    summary = run_ingest(Path(landing), run_id=run_id, logger=logger)
    create_table_artifact(
        key="ingest-summary",
        table=summary.table_rows(),
        description=summary.headline(),
    )
    return summary.as_dict()
