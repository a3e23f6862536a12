"""`make test` never writes into the developer's long-running Prefect server (issue 24, item 7).

The suite's flow runs (``cfz ingest --prefect``, ``cfz nightly`` in subprocesses) used to start or reuse
the project's own server (``.cfz/prefect-server.json``): one test run left 10 flow runs in the
developer's UI. They now go to the test process's instance (``CFZ_PREFECT_INSTANCE``, set by
tests/conftest.py), which the session stops and drops at its end.
"""

from __future__ import annotations

import json

from cfz_platform.config import state_dir
from cfz_platform.orchestration import prefect_server
from tests.conftest import run_cfz, simulate_clean_trial


def _flow_run_names(api_url: str) -> list[str]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings(updates={PREFECT_API_URL: api_url}),
        get_client(sync_client=True) as client,
    ):
        return [client.read_flow(run.flow_id).name for run in client.read_flow_runs()]


def test_a_flow_run_started_by_the_tests_lands_in_the_tests_own_server(warehouse_db, tmp_path):
    developers = state_dir() / "prefect-server.json"
    before = developers.read_text() if developers.exists() else None
    landing = simulate_clean_trial(tmp_path, patients=2, deliveries=1)

    run_cfz("ingest", "--prefect", "--landing", str(landing))  # the ingest as a flow run

    instance = prefect_server.instance_name()
    assert instance.startswith("prefect_test_")
    own = json.loads((state_dir() / f"{instance}-server.json").read_text())
    assert "ingest_feeds" in _flow_run_names(own["api_url"])
    # the developer's server was neither started nor recorded anew
    assert (developers.read_text() if developers.exists() else None) == before
    if before is not None and prefect_server.api_answers(json.loads(before)["api_url"]):
        assert own["api_url"] != json.loads(before)["api_url"]
