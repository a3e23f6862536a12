"""The nightly's schedule fires: ``prefect.yaml`` deployed to a real Prefect server, as the
README's "Scheduling it with Prefect" does it.

One module-scoped chain, the data engineer's loop with real parts:
1. ``cfz prefect start`` (a server instance of this module's own, state in PostgreSQL);
2. ``prefect work-pool create cfz-process --type process``;
3. ``prefect deploy --all`` of the project's ``prefect.yaml``, its nightly schedule moved to a
   minute ahead and its parameters to this test's landing (everything else as committed);
4. the server's scheduler creates the ``Scheduled`` run (nobody asks for it);
5. ``prefect worker start --pool cfz-process`` picks it up at its time and runs it to the end.

The tests assert what a data engineer would check the next morning: a run the scheduler made,
Completed, the trial published for BI, the platform's own lines in the run's log, and a
server log free of scheduler errors (Prefect 3.8.8 under sqlalchemy 2.1 failed there every
cycle, ``bulk_dml``, and no run was ever created).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
import yaml

from cfz_platform.child_processes import stop_process_group
from cfz_platform.config import project_root
from cfz_platform.db import warehouse
from cfz_platform.orchestration import prefect_server
from tests.conftest import run_cfz, simulate_clean_trial

pytestmark = pytest.mark.slow

ROOT = project_root()
PREFECT = str(Path(sys.executable).with_name("prefect"))
PATIENTS = 6


def _next_fire_time(now: datetime, lead_seconds: int = 45) -> datetime:
    """The first whole minute at least ``lead_seconds`` from ``now`` (UTC)."""
    at = (now + timedelta(seconds=lead_seconds)).replace(second=0, microsecond=0)
    return at + timedelta(minutes=1)


def _test_prefect_yaml(out: Path, fire_at: datetime, landing: Path, report_dir: Path) -> Path:
    """The committed prefect.yaml with the nightly fired at ``fire_at`` on the test's landing."""
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    nightly = next(d for d in spec["deployments"] if d["name"] == "nightly")
    assert nightly["schedules"][0]["cron"] == "0 2 * * *"  # what the test moves
    nightly["schedules"] = [
        {
            "cron": f"{fire_at.minute} {fire_at.hour} * * *",
            "timezone": "UTC",
            "active": True,
        }
    ]
    nightly["parameters"] = {
        **nightly["parameters"],
        "landing": str(landing),
        "report_dir": str(report_dir),
        "train": False,  # the model has tests of its own; 6 subjects cannot train it
    }
    path = out / "prefect.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def _prefect(*args: str, env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [PREFECT, "--no-prompt", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"prefect {' '.join(args)}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def _read_runs(api_url: str, deployment_name: str) -> tuple[UUID, list]:
    """(deployment id, its flow runs) read from the API."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: api_url}),
        get_client(sync_client=True) as client,
    ):
        deployment = client.read_deployment_by_name(deployment_name)
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment.id]))
        )
    return deployment.id, runs


def _run_log(api_url: str, run_id: UUID) -> list[tuple[str, str]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: api_url}),
        get_client(sync_client=True) as client,
    ):
        logs = client.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])), limit=200
        )
    return [(entry.name, entry.message) for entry in logs]


def _wait_for(what: str, probe, timeout: float, every: float = 2.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.fixture(scope="module")
def scheduled(warehouse_db, tmp_path_factory) -> dict:
    """The README's scheduling loop, run once; what the tests read afterwards."""
    out = tmp_path_factory.mktemp("schedule")
    landing = simulate_clean_trial(out, patients=PATIENTS, deliveries=1)
    with open(next(landing.glob("*/dm.csv")), newline="") as fh:
        dm_subjects = sum(1 for _ in csv.DictReader(fh))  # screen failures included
    instance = f"prefect_sched_{os.getpid()}"
    env = {
        **os.environ,
        "CFZ_PREFECT_INSTANCE": instance,
        # the scheduler's loop, 60 s by default: the test need not wait a whole cycle
        "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
    }
    worker = None
    try:
        # 1. the server, started by cfz (the README's first command)
        run_cfz("prefect", "start", env=env, timeout=180)
        api_url = run_cfz("prefect", "status", env=env).stdout.strip()
        assert api_url.startswith("http://127.0.0.1:") and api_url.endswith("/api"), api_url
        env["PREFECT_API_URL"] = api_url
        # 2.-3. the pool and the deployments
        _prefect("work-pool", "create", "cfz-process", "--type", "process", env=env)
        fire_at = _next_fire_time(datetime.now(UTC))
        prefect_file = _test_prefect_yaml(out, fire_at, landing, out / "report")
        _prefect("deploy", "--all", "--prefect-file", str(prefect_file), env=env)
        deployed_at = datetime.now(UTC)

        # 4. the scheduler (not the test) creates the run, before its time
        def scheduled_run():
            _, runs = _read_runs(api_url, "nightly/nightly")
            due = [r for r in runs if r.expected_start_time == fire_at]
            return due[0] if due else None

        run = _wait_for("the scheduler to create the nightly's run", scheduled_run, timeout=60)
        state_before_worker = f"{run.state.type.value} ({run.state.name})"
        # 5. the worker runs it when it is due
        worker = subprocess.Popen(
            [PREFECT, "worker", "start", "--pool", "cfz-process"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

        def finished():
            _, runs = _read_runs(api_url, "nightly/nightly")
            mine = next(r for r in runs if r.id == run.id)
            return mine if mine.state.is_final() else None

        final = _wait_for("the worker to finish the run", finished, timeout=420, every=3)
        return {
            "run": run,
            "dm_subjects": dm_subjects,
            "final": final,
            "state_before_worker": state_before_worker,
            "deployed_at": deployed_at,
            "fire_at": fire_at,
            "logs": _run_log(api_url, run.id),
            "server_log": prefect_server.log_path(instance).read_text(errors="replace"),
        }
    finally:
        if worker is not None:
            stop_process_group(worker.pid)
            worker.wait(timeout=30)
        run_cfz("prefect", "stop", env=env, check=False)
        prefect_server.drop_database(instance)
        prefect_server.log_path(instance).unlink(missing_ok=True)


def test_the_scheduler_creates_the_nightly_run_ahead_of_its_time(scheduled):
    run = scheduled["run"]
    assert run.auto_scheduled is True  # made by the scheduler service, not by a person
    # Scheduled, or Late when a loaded machine looked after its time: not yet started
    assert scheduled["state_before_worker"].startswith("SCHEDULED ("), scheduled
    assert run.created < scheduled["fire_at"], (run.created, scheduled["fire_at"])
    assert run.expected_start_time == scheduled["fire_at"]


def test_a_worker_runs_the_scheduled_nightly_to_completion(scheduled, warehouse_db):
    final = scheduled["final"]
    assert final.state.type.value == "COMPLETED", final.state.message
    with warehouse.connect(warehouse_db, autocommit=True) as conn:
        subjects = conn.execute("select count(*) from marts.dim_subject").fetchone()[0]
        outcome = conn.execute(
            "select outcome from audit.nightly_runs where run_id = %s", (str(final.id),)
        ).fetchone()
    assert subjects == scheduled["dm_subjects"]  # published for BI by the scheduled run
    assert outcome == ("completed",)


def test_the_worker_run_log_holds_the_platform_lines(scheduled):
    logs = scheduled["logs"]
    platform = [msg for name, msg in logs if name.startswith(("cfz_platform", "cfz."))]
    assert any("dm.csv: loaded, read" in msg for msg in platform), logs  # per-file ingest
    assert any(msg.startswith("[2/8] raw gate") for msg in platform), logs
    assert any(msg.startswith("[8/8] report") for msg in platform), logs


def test_the_server_log_shows_no_scheduler_error(scheduled):
    lines = scheduled["server_log"].splitlines()
    errors = [ln for ln in lines if "Traceback" in ln or "bulk_dml" in ln or " ERROR " in ln]
    assert errors == [], "\n".join(errors[:20])


def test_the_bi_reader_sees_the_scheduled_build(scheduled, warehouse_db):
    with psycopg.connect(warehouse.bi_settings(warehouse_db).conninfo, autocommit=True) as conn:
        seen = conn.execute("select count(*) from marts.dim_subject").fetchone()[0]
    assert seen == scheduled["dm_subjects"]
