"""Source freshness: which feeds have gone quiet (``dbt source freshness`` on the raw layer).

The raw sources carry ``loaded_at_field: _loaded_at`` and a ``warn_after`` of
``var('feed_stale_after_days')`` days (dbt/models/staging/sdtm/_sdtm__sources.yml). A stale
feed is a warning in the nightly summary, never a reason to stop: EDC exports can pause.

The nightly runs the check in a background process (``start_feed_freshness`` /
``collect_feed_freshness``, entry point ``python -m cfz_platform.transform.freshness``) beside
its raw gate and dbt build: it only reads ``raw``, uses its own dbt target folder, and its
start-up (importing and parsing dbt) then costs the nightly no wall time on a free core.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

from cfz_platform.transform.dbt_runner import run_dbt

#: The background check gives up (and the nightly warns) after this many seconds.
BACKGROUND_TIMEOUT_S = 600

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FeedFreshness:
    """One raw table's freshness: dbt's status and how old its newest row is."""

    table: str
    status: str  # pass, warn, error, runtime error
    age_days: float | None
    message: str


def compute_feed_freshness() -> list[FeedFreshness]:
    """Run ``dbt source freshness`` and return one entry per raw table.

    Steps:
    1. ``dbt source freshness --target warehouse`` (never raises: freshness only informs);
    2. per result: the table, dbt's status, the age of its newest ``_loaded_at`` in days;
       a table with no row at all has no age ("no row loaded yet"; dbt calls it stale).
    """
    result = run_dbt(
        ["source", "freshness", "--target", "warehouse"],
        raise_on_failure=False,
        target_subdir="freshness",
    )
    feeds = []
    # sources only: the project's on-run-start hook (dbt/macros/published_schemas.sql) is a
    # result of the command too
    for r in (r for r in result.results if str(r.node.resource_type) == "source"):
        table = r.node.name
        status = str(getattr(r, "status", "error"))
        newest = getattr(r, "max_loaded_at", None)
        age = getattr(r, "age", None)
        # dbt reports an empty table as loaded at datetime.min (an age of two thousand years)
        empty = newest is None or age is None or newest.year <= 1
        age_days = None if empty else round(float(age) / 86400, 1)
        if age_days is None:
            message = f"raw.{table}: no row loaded yet"
        elif status == "pass":
            message = f"raw.{table}: newest row loaded {age_days} days ago"
        else:
            message = f"raw.{table}: stale, newest row loaded {age_days} days ago"
        feeds.append(FeedFreshness(table, status, age_days, message))
    return sorted(feeds, key=lambda f: f.table)


def stale_feed_warnings(feeds: list[FeedFreshness]) -> list[str]:
    """The warnings for the run summary: stale tables and tables that never received a row."""
    return [f.message for f in feeds if f.status != "pass"]


def start_feed_freshness() -> subprocess.Popen:
    """Start ``compute_feed_freshness`` in a background process (same environment, so the same
    warehouse); ``collect_feed_freshness`` waits for it."""
    return subprocess.Popen(
        [sys.executable, "-m", "cfz_platform.transform.freshness"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def collect_feed_freshness(proc: subprocess.Popen) -> tuple[list[FeedFreshness], float]:
    """The background check's result and its own run time (s); raises ``RuntimeError`` with its last error line when it
    failed or timed out (the caller turns that into a warning)."""
    try:
        out, err = proc.communicate(timeout=BACKGROUND_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise RuntimeError(f"no answer within {BACKGROUND_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        raise RuntimeError(lines[-1] if lines else f"exit code {proc.returncode}")
    payload = json.loads(out.strip().splitlines()[-1])
    return [FeedFreshness(**f) for f in payload["feeds"]], float(payload["seconds"])


def main() -> int:
    """Print the feeds' freshness and the check's run time as one JSON line (the background
    process of the nightly)."""
    from cfz_platform.config import apply_runtime_env

    start = time.perf_counter()
    apply_runtime_env()
    logging.basicConfig(level=logging.WARNING)
    feeds = compute_feed_freshness()
    payload = {"feeds": [asdict(f) for f in feeds], "seconds": time.perf_counter() - start}
    sys.stdout.write(json.dumps(payload) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
