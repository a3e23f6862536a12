"""What a data engineer sees in the Prefect UI: each flow run's own log lines.

The ingest flow under a real (temporary) Prefect server: its progress lines (per file, counts)
and the package's module loggers (``cfz_platform.*``) reach the run's log in the API, at INFO.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
from prefect.logging.handlers import APILogHandler
from prefect.runtime import flow_run

from cfz_platform.config import project_root
from tests.conftest import run_cfz

if str(project_root()) not in sys.path:
    sys.path.insert(0, str(project_root()))

from flows.ingest import ingest_feeds  # noqa: E402


def _run_logs(run_id: str) -> list[tuple[int, str, str]]:
    async def read():
        await APILogHandler.aflush()  # the handler ships logs in batches, in the background
        async with get_client() as client:
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id]))
            )
            return [(entry.level, entry.name, entry.message) for entry in logs]

    return asyncio.run(read())


@flow(name="package_logger_probe")
def _package_logger_probe() -> str:
    logging.getLogger("cfz_platform.transform.build").info("dbt build of marts_candidate: probe")
    return str(flow_run.get_id())


def test_ingest_progress_and_package_loggers_reach_the_flow_run_log(
    warehouse_db, prefect_harness, tmp_path
):
    run_cfz("simulate", "--patients", "2", "--deliveries", "1", "--out", str(tmp_path / "landing"))
    summary = ingest_feeds(str(tmp_path / "landing"))
    messages = [m for level, _, m in _run_logs(summary["run_id"]) if level == logging.INFO]
    assert any("dm.csv: loaded, read" in m for m in messages), messages
    assert any(m.startswith(f"ingest {summary['run_id']}: files loaded") for m in messages), (
        messages
    )

    probe_run = _package_logger_probe()
    logs = _run_logs(probe_run)
    assert (
        logging.INFO,
        "cfz_platform.transform.build",
        "dbt build of marts_candidate: probe",
    ) in logs
