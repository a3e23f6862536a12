"""A failure reaches a person (issue 24, item 3): a failed nightly posts to a webhook.

A real HTTP server (``http.server`` in a thread) receives the POST of the ``nightly`` flow's
failure hook after a real flow run, under the session's Prefect test server, fails at the raw
gate on a delivery holding a serum M-protein of 900 g/dL. The report written afterwards says
at its top that the latest nightly failed. ``cfz alerts set-webhook`` / ``cfz alerts test``
are run as a user runs them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cfz_platform.config import project_root, state_dir
from tests.conftest import run_cfz
from tests.webhook import webhook_server

if str(project_root()) not in sys.path:
    sys.path.insert(0, str(project_root()))

from flows.nightly import NightlyFailed, nightly  # noqa: E402
from tests.test_cli_messages import _blocked_landing  # noqa: E402


@pytest.fixture
def webhook() -> Iterator[tuple[str, list]]:
    """A real local HTTP server; yields its URL and the list of requests it received."""
    with webhook_server() as server:
        yield server


@pytest.mark.slow  # a real nightly run
def test_a_failed_nightly_posts_its_step_and_error_and_the_report_says_it_failed(
    warehouse_db, prefect_harness, db, webhook, tmp_path, monkeypatch
):
    url, received = webhook
    monkeypatch.setenv("CFZ_ALERT_WEBHOOK_URL", url)
    landing = _blocked_landing(tmp_path)
    with pytest.raises(NightlyFailed, match="step 'raw_gate'"):
        nightly(landing=str(landing), report_dir=str(tmp_path / "report"), train=False)

    assert len(received) == 1
    path, content_type, body = received[0]
    assert path == "/hooks/T0KEN" and content_type == "application/json"
    message = json.loads(body)
    run_id, reason = db.execute(
        "select run_id, reason from audit.nightly_runs where outcome = 'failed'"
    ).fetchone()
    assert message["flow"] == "nightly" and message["state"] == "Failed"
    assert message["flow_run_id"] == run_id and message["flow_run_name"]
    assert message["failed_step"] == "raw_gate"
    assert message["error"] == reason
    assert reason.startswith("raw gate on schema 'raw': FAILED (") and "\n" not in reason
    assert message["ui_url"].endswith(f"/runs/flow-run/{run_id}")
    assert message["warehouse"] == warehouse_db
    assert message["text"].startswith("cfz nightly FAILED at step 'raw_gate': raw gate")

    # the report of this warehouse says so at its top; nothing was ever published
    html = run_cfz("report", "--out", str(tmp_path / "report")).stdout.strip()
    page = Path(html).read_text()
    banner = page[page.index('id="nightly-failed"') : page.index("<h1>")]
    assert f"The latest nightly run ({run_id}, started " in banner
    assert "failed at step &#39;raw_gate&#39;: raw gate on schema &#39;raw&#39;" in banner
    assert "No build has been published yet" in banner


@pytest.fixture
def stored_setting() -> Iterator[Path]:
    """``.cfz/alerts.json`` as the test found it, put back afterwards."""
    path = state_dir() / "alerts.json"
    before = path.read_bytes() if path.exists() else None
    try:
        yield path
    finally:
        if before is None:
            path.unlink(missing_ok=True)
        else:
            path.write_bytes(before)


def test_cfz_alerts_set_webhook_stores_it_and_test_posts_there(webhook, stored_setting):
    url, received = webhook
    bad = run_cfz("alerts", "set-webhook", "slack.example.org/hook", check=False)
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "error: the webhook must be an http:// or https:// URL, got 'slack.example.org/hook'"
    ]

    env = {"CFZ_ALERT_WEBHOOK_URL": ""}  # the stored setting, not a developer's variable
    run_cfz("alerts", "set-webhook", url, env=env)
    assert json.loads(stored_setting.read_text()) == {"webhook_url": url}
    assert stored_setting.stat().st_mode & 0o077 == 0  # it may hold the webhook's secret
    out = run_cfz("alerts", "test", env=env)
    assert out.stdout.strip() == f"test message delivered to {url.split('/')[2]}"
    assert len(received) == 1 and json.loads(received[0][2])["state"] == "Test"
