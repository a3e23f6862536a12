"""Source freshness: which feeds have gone quiet (``dbt source freshness`` on the raw layer).

The raw sources carry ``loaded_at_field: _loaded_at`` and a ``warn_after`` of
``var('feed_stale_after_days')`` days (dbt/models/staging/sdtm/_sdtm__sources.yml). A stale
feed is a warning in the nightly summary, never a reason to stop: EDC exports can pause.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cfz_platform.transform.dbt_runner import run_dbt

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
    result = run_dbt(["source", "freshness", "--target", "warehouse"], raise_on_failure=False)
    feeds = []
    for r in result.results:
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
