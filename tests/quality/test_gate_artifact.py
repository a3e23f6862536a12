"""A gate's report becomes a Prefect artifact inside a flow run, and costs no Prefect import
outside one (``cfz transform``/``cfz validate`` from a shell: importing Prefect only to learn
there is no flow run took 2 s of every command's start)."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from cfz_platform.config import project_root
from cfz_platform.quality.audit import publish_artifact
from cfz_platform.quality.results import CheckResult, GateReport


def _report(run_id: str) -> GateReport:
    check = CheckResult(
        gate="raw",
        suite="raw.lb",
        check="lab_value_physically_possible",
        expectation="expect_column_values_to_be_between",
        column="lborres",
        severity="blocking",
        success=False,
        description="a lab value a human body cannot hold",
        unexpected_count=1,
    )
    return GateReport(gate="raw", run_id=run_id, schema="raw", results=[check])


def test_outside_a_flow_run_no_artifact_and_prefect_is_not_imported():
    code = (
        "import sys\n"
        "from tests.quality.test_gate_artifact import _report\n"
        "from cfz_platform.quality.audit import publish_artifact\n"
        "print(publish_artifact(_report('shell')), 'prefect' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=project_root(),
        check=True,
    )
    assert proc.stdout.split() == ["None", "False"]


def test_inside_a_flow_run_the_report_is_a_markdown_artifact(prefect_harness):
    from prefect import flow
    from prefect.client.orchestration import get_client

    @flow(name="gate-artifact-test")
    def gate_flow() -> tuple[str | None, str]:
        from prefect.runtime import flow_run

        return publish_artifact(_report("in-flow")), flow_run.id

    key, run_id = gate_flow()
    assert key == "quality-raw-gate"

    async def latest() -> str:
        # this run's artifact: the session's server also holds the nightly runs' gate reports
        from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

        async with get_client() as client:
            arts = await client.read_artifacts(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
            )
        return next(a.data for a in arts if a.key == "quality-raw-gate")

    assert "lab_value_physically_possible" in asyncio.run(latest())
