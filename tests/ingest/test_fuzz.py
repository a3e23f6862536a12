"""Fuzz: a fixed corpus of several hundred hostile landing files never stops the feed (issue 14).

For every entry of ``fuzz_corpus.build_corpus`` (poison headers, hostile bodies, broken
gzip and XPT, hostile names, links, FIFOs), loaded in one run: no crash; the entry is either
quarantined with a reason, or loaded with rows read = loaded + rejected, a reject row with a
reason per rejected row, and exactly ``rows_loaded`` rows in its raw table; nothing from
outside the landing root is read. A rerun retries none of them, and a later good delivery
loads. The figures (tried / handled / crashed / lost) are printed (``pytest -s``).
"""

from __future__ import annotations

import time

from cfz_platform.ingest import run_ingest
from tests.ingest.fuzz_corpus import build_corpus
from tests.ingest.helpers import DM_HEADER, LB_HEADER, csv_text, lb_rows, write


def test_every_hostile_file_is_quarantined_or_accounted_and_the_feed_goes_on(db, tmp_path):
    landing = tmp_path / "landing"
    entries = build_corpus(landing)
    t0 = time.perf_counter()
    crashed = 0
    try:
        summary = run_ingest(landing)
    except Exception:  # noqa: BLE001 - counted, then re-raised by the assertion below
        crashed = len(entries)
        raise
    seconds = time.perf_counter() - t0

    outcomes = {f.rel_path: f for f in summary.files}
    assert len(entries) >= 300
    assert set(outcomes) == {e.rel_path for e in entries}, "every entry gets an outcome"
    ledger = {
        r[0]: r[1:]
        for r in db.execute(
            "select f.file_id, f.status, f.rows_read, f.rows_loaded, f.rows_rejected, f.reason, "
            "(select count(*) from audit.ingest_rejects r where r.file_id = f.file_id and r.reason <> '') "
            "from audit.ingest_files f"
        )
    }
    handled, lost, problems = 0, 0, []
    for e in entries:
        f = outcomes[e.rel_path]
        status, read, loaded, rejected, reason, reject_rows = ledger[f.file_id]
        if status == "quarantined":
            ok = bool(reason) and f.status == "quarantined"
        else:
            raw = db.execute(
                f'select count(*) from raw."{f.domain}" where _file_id = %s', (f.file_id,)
            ).fetchone()[0]
            ok = (
                status == f.status == "loaded"
                and read == loaded + rejected == f.rows_read
                and reject_rows == rejected
                and raw == loaded
            )
            lost += max(0, read - raw - reject_rows)
        handled += ok
        if not ok:
            problems.append((e.kind, e.rel_path, f.status, f.reason))
    print(
        f"\nfuzz: tried {len(entries)}, handled {handled}, crashed {crashed}, lost rows {lost}; "  # noqa: T201
        f"{summary.files_loaded} loaded, {summary.files_quarantined} quarantined, "
        f"{summary.rows_rejected} rows rejected; {seconds:.1f} s"
    )
    assert problems == [] and lost == 0

    # nothing from outside the landing root was read or stored
    assert (
        db.execute(
            "select count(*) from audit.ingest_files where reason like '%SECRET%'"
        ).fetchone()[0]
        == 0
    )
    assert (
        db.execute(
            "select count(*) from audit.ingest_rejects where value like '%SECRET%'"
        ).fetchone()[0]
        == 0
    )
    assert db.execute("select count(*) from raw.dm where studyid like 'root%'").fetchone()[0] == 0
    by_kind = {e.kind: outcomes[e.rel_path] for e in entries}
    for kind in (
        "link outside",
        "link dangling",
        "link inside",
        "link loop",
        "FIFO",
        "link to a directory",
    ):
        assert by_kind[kind].status == "quarantined" and "not" in by_kind[kind].reason, kind
    assert by_kind["system column ctid"].status == "loaded"
    assert by_kind["1601 extra columns"].status == "quarantined"
    assert by_kind["quoted field over 1,200 lines"].rows_rejected == 1
    assert by_kind["gzip good"].status == "loaded" and by_kind["xpt good"].status == "loaded"

    # a rerun retries none of them, and a later good delivery loads
    write(landing, "20261130T000000", "lb.csv", csv_text(LB_HEADER, lb_rows(4)))
    write(
        landing,
        "20261130T000000",
        "dm.csv",
        csv_text(DM_HEADER, ["CFZ,DM,CFZ-001,01,A,2026-01-05,61,F"]),
    )
    again = run_ingest(landing)
    fresh = [
        (f.rel_path, f.status, f.rows_loaded)
        for f in again.files
        if f.status != "skipped_duplicate"
    ]
    assert fresh == [
        ("20261130T000000/dm.csv", "loaded", 1),
        ("20261130T000000/lb.csv", "loaded", 12),
    ]
