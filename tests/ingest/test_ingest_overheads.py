"""Per-run and per-file costs of ingestion that must not cost correctness (issue 18).

- The run's connections are reused across files and its catalog is read once: every row
  still carries its own file's lineage with two loader threads, and a file bringing a new
  column still gets it.
- On a warehouse that has everything, ``ensure_raw_layer`` issues no DDL (it does not wait
  for a session that is writing to raw or to the ledger).
- The embedded cluster's liveness check reads ``postmaster.pid`` (no process per connect) and
  says the same as ``pg_ctl status``.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import pytest

from cfz_platform.db import embedded, warehouse
from cfz_platform.ingest import ensure_raw_layer, run_ingest
from tests.ingest.helpers import DM_HEADER, LB_HEADER, csv_text, lb_rows, write


def test_every_row_carries_its_own_files_lineage_with_two_loader_threads(db, tmp_path, monkeypatch):
    monkeypatch.setenv("CFZ_INGEST_WORKERS", "2")
    landing = tmp_path / "landing"
    deliveries = ("20250101T020000", "20250102T020000", "20250103T020000")
    for k, d in enumerate(deliveries):
        write(landing, d, "lb.csv", csv_text(LB_HEADER, lb_rows(40 + k, dtc=f"2025-01-0{k + 1}")))
        write(
            landing,
            d,
            "dm.csv",
            csv_text(DM_HEADER, [f"CFZ,DM,CFZ-{i:03d},01,A,2025-01-01,60,F" for i in range(1, 4)]),
        )

    summary = run_ingest(landing)

    assert {f.status for f in summary.files} == {"loaded"}
    for domain in ("lb", "dm"):
        got = db.execute(
            f"""
            select f.rel_path, count(*), count(*) filter (
                       where r._delivery_id = f.delivery_id and r._file = f.rel_path)
            from raw.{domain} r join audit.ingest_files f on f.file_id = r._file_id
            where f.delivery_id like '2025010%'
            group by f.rel_path, f.rows_loaded having count(*) = f.rows_loaded
            order by 1
            """
        ).fetchall()
        expected_rows = {"lb": [120, 123, 126], "dm": [3, 3, 3]}[domain]
        assert got == [
            (f"{d}/{domain}.csv", n, n) for d, n in zip(deliveries, expected_rows, strict=True)
        ]


def test_ensure_raw_layer_on_a_complete_warehouse_waits_for_no_writer(db, warehouse_db):
    ensure_raw_layer(db)
    writer = warehouse.connect(warehouse_db)
    try:
        # what a loading ingest holds: ROW EXCLUSIVE on the raw table and the rejects
        writer.execute(
            "lock table raw.lb, audit.ingest_rejects, audit.ingest_files in row exclusive mode"
        )
        with warehouse.connect(warehouse_db, autocommit=True) as other:
            other.execute("set lock_timeout = '2s'")
            ensure_raw_layer(other)  # any DDL on those tables would wait and time out
    finally:
        writer.rollback()
        writer.close()


def test_is_running_reads_the_pid_file_and_agrees_with_pg_ctl(cluster, tmp_path):
    info = embedded.load_info()
    pg_ctl = embedded.find_pg_bin() / "pg_ctl"
    proc = subprocess.run(
        embedded._as_server_user([str(pg_ctl), "-D", info.data_dir, "status"]), capture_output=True
    )
    assert proc.returncode == 0 and embedded.is_running(info)

    # a data directory whose server is gone: stale pid file (a pid no process has), none at all
    gone = tmp_path / "pgdata"
    gone.mkdir()
    stale = dataclasses.replace(info, data_dir=str(gone))
    assert not embedded.is_running(stale)
    dead = int(Path("/proc/sys/kernel/pid_max").read_text()) - 1
    assert not os.path.exists(f"/proc/{dead}")
    (gone / "postmaster.pid").write_text(f"{dead}\n{gone}\n")
    assert not embedded.is_running(stale)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4242\n/data\n1700000000\n", True),
        ("4243\n/data\n", False),
        ("", None),
        ("garbled\n", None),
        ("-4242\n/data\n", None),  # a single-user backend: pg_ctl decides
    ],
)
def test_compute_postmaster_alive(text, expected):
    assert embedded.compute_postmaster_alive(text, lambda pid: pid == 4242) is expected


def test_a_new_column_in_a_later_file_of_the_same_run_is_added_and_loaded(db, tmp_path):
    landing = tmp_path / "landing"
    write(landing, "20250301T020000", "lb.csv", csv_text(LB_HEADER, lb_rows(2)))
    # the run has seen raw.lb's columns; the next delivery brings LBFAST as well
    write(
        landing,
        "20250302T020000",
        "lb.csv",
        csv_text(LB_HEADER + ",LBFAST", [r + ",Y" for r in lb_rows(2)]),
    )

    summary = run_ingest(landing)

    assert [(f.status, f.rows_loaded) for f in summary.files] == [("loaded", 6), ("loaded", 6)]
    assert db.execute(
        "select _delivery_id, count(lbfast) from raw.lb where _delivery_id like '202503%' "
        "group by 1 order by 1"
    ).fetchall() == [("20250301T020000", 0), ("20250302T020000", 6)]


def test_compute_analyze_batches_starts_the_largest_table_on_its_own_connection():
    from cfz_platform.ingest.statistics import compute_analyze_batches

    rows = {"lb": 1000, "vs": 300, "cm": 200, "ae": 0, "dm": 50}  # ae: nothing changed

    assert compute_analyze_batches(rows, 2) == [["lb"], ["vs", "cm", "dm"]]
    assert compute_analyze_batches(rows, 1) == [["lb", "vs", "cm", "dm"]]
    assert compute_analyze_batches({"lb": 1000}, 2) == [["lb"]]
    assert compute_analyze_batches({}, 2) == []


def test_the_ingestion_leaves_the_statistics_to_the_next_reader_which_analyses_what_changed(
    empty_warehouse, tmp_path, monkeypatch
):
    """``cfz ingest`` loads and leaves (its peers do not analyse either); the next reader
    (the raw gate of ``cfz transform``/``cfz validate``) analyses, over two connections,
    every raw table that received rows, and only those."""
    from cfz_platform.ingest.statistics import analyze_changed_raw_tables

    monkeypatch.setenv("CFZ_INGEST_WORKERS", "2")
    landing = tmp_path / "landing"
    d = "20250301T020000"
    write(landing, d, "lb.csv", csv_text(LB_HEADER, lb_rows(30)))
    write(
        landing,
        d,
        "dm.csv",
        csv_text(DM_HEADER, [f"CFZ,DM,CFZ-{i:03d},01,A,2025-01-01,60,F" for i in range(1, 6)]),
    )

    def stats() -> dict[str, tuple[bool, float]]:
        with warehouse.connect(autocommit=True) as conn:
            rows = conn.execute(
                "select c.relname, s.last_analyze is not null, c.reltuples "
                "from pg_class c join pg_stat_user_tables s on s.relid = c.oid "
                "where s.schemaname = 'raw' and c.relname in ('lb', 'dm', 'ae')"
            ).fetchall()
        return {table: (analysed, reltuples) for table, analysed, reltuples in rows}

    run_ingest(landing)
    assert stats() == {"lb": (False, -1), "dm": (False, -1), "ae": (False, -1)}

    assert analyze_changed_raw_tables(workers=2) == ["lb", "dm"]
    # both tables that received rows know their exact row count; ae, which got none, was left
    assert stats() == {"lb": (True, 90), "dm": (True, 5), "ae": (False, -1)}
