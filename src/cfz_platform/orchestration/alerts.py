"""A failed or crashed nightly reaches a person: a JSON message posted to a webhook.

The ``nightly`` flow calls ``notify_failure`` from its ``on_failure`` and ``on_crashed`` state
hooks, in whichever process runs it (``cfz nightly``, a Prefect worker). The webhook is
``CFZ_ALERT_WEBHOOK_URL`` when set, else the one stored by ``cfz alerts set-webhook URL``
(``.cfz/alerts.json``, readable by its owner only). The message is one JSON object; its
``text`` field reads as one line in Slack, Teams or Mattermost incoming webhooks:

    {"text": "cfz nightly FAILED at step 'raw_gate': raw gate on schema 'raw': FAILED ...",
     "flow": "nightly", "flow_run_name": "...", "flow_run_id": "...", "state": "Failed",
     "failed_step": "raw_gate", "error": "raw gate on schema 'raw': FAILED (...)",
     "ui_url": "http://127.0.0.1:4200/runs/flow-run/<id>", "warehouse": "cfz"}

A webhook that is down or refuses the message never hides the run's own failure: the hook
logs one warning line and returns.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from typing import Any

from cfz_platform.config import state_dir

log = logging.getLogger(__name__)

WEBHOOK_ENV = "CFZ_ALERT_WEBHOOK_URL"
#: Seconds a webhook may take to answer before the alert is given up.
TIMEOUT_SECONDS = 10.0


class AlertError(RuntimeError):
    """An alert setting is wrong or a test message was not delivered; the message says why."""


def _settings_path():
    return state_dir() / "alerts.json"


def compute_checked_url(url: str) -> str:
    """``url`` when it is an http(s) address, else ``AlertError`` saying what is expected."""
    from urllib.parse import urlparse

    parsed = urlparse(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise AlertError(f"the webhook must be an http:// or https:// URL, got {url!r}")
    return url.strip()


def store_webhook(url: str) -> str:
    """Keep ``url`` as the webhook of failure alerts (``.cfz/alerts.json``, mode 0600)."""
    url = compute_checked_url(url)
    path = _settings_path()
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps({"webhook_url": url}))
    return url


def webhook_url() -> str | None:
    """The webhook of failure alerts: ``CFZ_ALERT_WEBHOOK_URL``, else the stored one, else None."""
    env = os.environ.get(WEBHOOK_ENV, "").strip()
    if env:
        return env
    path = _settings_path()
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text()).get("webhook_url") or None
    except (OSError, ValueError):
        log.warning("cannot read %s: failure alerts are off until it is set again", path)
        return None


def _host(url: str) -> str:
    from urllib.parse import urlparse

    return urlparse(url).netloc or url  # never the path: it often holds the webhook's secret


def post_message(url: str, message: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> int:
    """POST ``message`` as JSON to ``url``; return the HTTP status (``AlertError`` if none)."""
    request = urllib.request.Request(
        url,
        data=json.dumps(message, default=str).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "cfz-platform-alerts"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        raise AlertError(f"the webhook at {_host(url)} answered HTTP {exc.code}") from exc
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AlertError(f"the webhook at {_host(url)} is not reachable: {reason}") from exc


def _recorded_failure(run_id: str) -> tuple[str | None, str | None, str | None]:
    """(failed step, reason, warehouse) the run recorded in ``audit.nightly_runs``, if any."""
    from cfz_platform.db import warehouse

    try:
        with warehouse.connect(autocommit=True, connect_timeout=5) as conn:
            row = conn.execute(
                "select failed_step, reason from audit.nightly_runs where run_id = %s", (run_id,)
            ).fetchone()
            return (row[0], row[1], conn.info.dbname) if row else (None, None, conn.info.dbname)
    except Exception:  # noqa: BLE001 - the warehouse may be the very thing that failed
        return None, None, None


def _ui_url(run_id: str) -> str | None:
    from prefect.settings import PREFECT_UI_URL

    base = PREFECT_UI_URL.value()
    return f"{str(base).rstrip('/')}/runs/flow-run/{run_id}" if base else None


def compute_alert_message(
    flow_name: str,
    run_name: str,
    run_id: str,
    state_name: str,
    state_message: str,
    failed_step: str | None,
    reason: str | None,
    ui_url: str | None,
    warehouse_name: str | None,
) -> dict[str, Any]:
    """The alert's JSON object (see the module docstring).

    Steps: the error is the run's recorded one-line reason, else the first line of the
    state's message without Prefect's "Flow run encountered an exception:" prefix; ``text``
    says flow, state, step, error and where to look, in one line."""
    error = reason or next(
        (ln.strip() for ln in (state_message or "").splitlines() if ln.strip()), state_name
    )
    error = error.removeprefix("Flow run encountered an exception: ")
    where = f" at step '{failed_step}'" if failed_step else ""
    text = f"cfz {flow_name} {state_name.upper()}{where}: {error}"
    if ui_url:
        text += f" ({ui_url})"
    return {
        "text": text,
        "flow": flow_name,
        "flow_run_name": run_name,
        "flow_run_id": run_id,
        "state": state_name,
        "failed_step": failed_step,
        "error": error,
        "ui_url": ui_url,
        "warehouse": warehouse_name,
    }


def _deliver(build: Any) -> None:
    """Post the message ``build()`` makes to the webhook, if one is set; a failure to build or
    deliver it is one warning line (the run's own failure stays what the run says)."""
    url = webhook_url()
    if not url:
        return
    try:
        post_message(url, build())
        log.info("failure alert sent to %s", _host(url))
    except Exception as exc:  # noqa: BLE001 - an alert never replaces the failure it reports
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        log.warning("the failure alert was not delivered (%s); the run's failure stands", first)


def notify_failure(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect ``on_failure`` / ``on_crashed`` hook: post the failure to the webhook.

    Steps: no webhook configured -> nothing; read the failed step and reason the run recorded
    (``audit.nightly_runs``, keyed by the flow run id); build the message
    (``compute_alert_message``) with the UI link when Prefect knows its UI; post it."""

    def build() -> dict[str, Any]:
        run_id = str(flow_run.id)
        step, reason, warehouse_name = _recorded_failure(run_id)
        return compute_alert_message(
            flow_name=flow.name,
            run_name=flow_run.name,
            run_id=run_id,
            state_name=state.name,
            state_message=state.message or "",
            failed_step=step,
            reason=reason,
            ui_url=_ui_url(run_id),
            warehouse_name=warehouse_name,
        )

    _deliver(build)


def notify_failure_without_prefect(
    flow_name: str, run_name: str, run_id: str, failed_step: str, reason: str
) -> None:
    """Post a failure Prefect cannot report: its API is gone, so it can neither record the
    Failed state nor run the state hooks (the nightly calls this itself, once)."""
    from cfz_platform.db import warehouse

    def build() -> dict[str, Any]:
        return compute_alert_message(
            flow_name=flow_name,
            run_name=run_name,
            run_id=run_id,
            state_name="Failed",
            state_message="",
            failed_step=failed_step,
            reason=reason,
            ui_url=_ui_url(run_id),
            warehouse_name=warehouse.settings().dbname,
        )

    _deliver(build)


def send_test_message() -> str:
    """Post a test message to the configured webhook; return where it went (``AlertError``)."""
    url = webhook_url()
    if not url:
        raise AlertError(
            f"no webhook is set: run `cfz alerts set-webhook URL` or set {WEBHOOK_ENV}"
        )
    post_message(
        url,
        {
            "text": "cfz alerts: test message (a failed or crashed nightly posts here)",
            "flow": "nightly",
            "state": "Test",
        },
    )
    return _host(url)
