"""Source freshness on the raw layer: a feed silent for longer than the var is named as stale."""

from __future__ import annotations

from cfz_platform.ingest import ensure_raw_layer
from cfz_platform.transform.freshness import compute_feed_freshness, stale_feed_warnings


def _plant(db, table: str, days_ago: int) -> None:
    db.execute(
        f"insert into raw.{table} (usubjid, _loaded_at, _file_id, _delivery_id, _file, _line, _row_hash) "
        "values ('S1', now() - make_interval(days => %s), 1, 'D1', 'D1/x.csv', 2, 'h')",
        (days_ago,),
    )


def test_a_feed_quiet_for_longer_than_the_var_is_stale_and_an_empty_one_is_named(db):
    ensure_raw_layer(db)
    _plant(db, "dm", 20)  # older than feed_stale_after_days (14)
    _plant(db, "lb", 1)
    feeds = {f.table: f for f in compute_feed_freshness()}
    assert feeds["dm"].status == "warn" and feeds["dm"].age_days == 20.0
    assert feeds["lb"].status == "pass" and feeds["lb"].age_days == 1.0
    assert feeds["ae"].age_days is None
    warnings = stale_feed_warnings(list(feeds.values()))
    assert "raw.dm: stale, newest row loaded 20.0 days ago" in warnings
    assert "raw.ae: no row loaded yet" in warnings
    assert not any(w.startswith("raw.lb") for w in warnings)


def test_the_nightlys_background_check_gives_the_same_feeds_and_its_own_run_time(db, warehouse_db):
    """The nightly starts the check in a background process (beside its raw gate and build)
    and collects it later: same statuses and ages as the in-process check, as a step result
    with the background process's own seconds."""
    from cfz_platform.orchestration import steps

    ensure_raw_layer(db)
    _plant(db, "cm", 30)
    steps.start_freshness("bg-run")
    assert steps.freshness_started("bg-run")
    result, rows = steps.step_freshness("bg-run")
    assert not steps.freshness_started("bg-run")
    assert result.status == "warning" and "raw.cm: stale, newest row loaded 30.0 days ago" in (
        result.message
    )
    assert 0 < result.seconds < 600
    shown = {r["feed"]: r for r in rows}
    assert shown["raw.cm"]["newest row (days ago)"] == 30.0
    assert shown["raw.ae"]["newest row (days ago)"] is None  # never loaded
