"""Issue 14: no file can stop the feed (poison files, long quoted fields, files changing while
read, links and FIFOs, ledger growth, blank keys, hostile file names), against real PostgreSQL.

Each test uses its own delivery ids so that the module shares one warehouse.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import stat

from cfz_platform.ingest import hooks, run_ingest
from tests.conftest import CONFORMANCE
from tests.ingest.helpers import DM_HEADER, LB_HEADER, csv_text, lb_rows, raw_count, rejects, write

VS_HEADER = "STUDYID,DOMAIN,USUBJID,VSTESTCD,VSORRES,VSORRESU,VSDTC"


def ledger(db, rel_path: str) -> list[tuple]:
    return db.execute(
        "select status, rows_read, rows_loaded, rows_rejected, reason, sha256, seen_count, read_again "
        "from audit.ingest_files where rel_path = %s order by file_id",
        (rel_path,),
    ).fetchall()


def by_name(summary) -> dict:
    return {f.rel_path.split("/", 1)[-1]: f for f in summary.files}


# ------------------------------------------------------------------ item 2: poison files


def test_poison_files_are_quarantined_and_later_deliveries_load(db, tmp_path):
    landing = tmp_path / "landing"
    d1, d2 = "20260601T020000", "20260602T020000"
    # a column named like a PostgreSQL system column: kept, under a safe name
    write(
        landing,
        d1,
        "vs.csv",
        csv_text(VS_HEADER + ",CTID,xmin", ["CFZ,VS,CFZ-001,SYSBP,120,mmHg,2026-03-02,tid-1,x1"]),
    )
    # more columns than a table can have
    wide = ",".join([DM_HEADER] + [f"X{i}" for i in range(1_700)])
    write(
        landing,
        d1,
        "dm.csv",
        csv_text(wide, ["CFZ,DM,CFZ-001,01,A,2026-01-05,61,F" + ",v" * 1_700]),
    )
    # a .csv.gz whose deflate stream is corrupt past its header
    good = gzip.compress(csv_text(LB_HEADER, lb_rows(400)).encode())
    corrupt = good[:40] + bytes(b ^ 0x5A for b in good[40:200]) + good[200:]
    write(landing, d1, "lb.csv.gz", corrupt)
    write(landing, "20260601T030000", "lb.csv.gz", good[: len(good) // 2])  # cut short
    write(
        landing, "20260601T040000", "lb.csv.gz", b"\x1f\x8b\x08\x00garbage"
    )  # a broken gzip header

    summary = run_ingest(landing)
    first = by_name(summary)

    assert first["vs.csv"].status == "loaded"
    assert (
        "CTID as col_ctid" in first["vs.csv"].reason
        and "xmin as col_xmin" in first["vs.csv"].reason
    )
    assert db.execute(
        "select col_ctid, col_xmin, vsorres from raw.vs where _file = %s", (f"{d1}/vs.csv",)
    ).fetchall() == [("tid-1", "x1", "120")]
    assert first["dm.csv"].status == "quarantined" and "too many columns" in first["dm.csv"].reason
    gz = [f for f in summary.files if f.rel_path.endswith(".gz")]
    assert len(gz) == 3
    for f in gz:
        assert f.status == "quarantined", f.rel_path
        assert "corrupt" in f.reason or "cut short" in f.reason, f.reason
        (row,) = ledger(db, f.rel_path)
        assert row[0] == "quarantined" and row[4] == f.reason and row[1:4] == (0, 0, 0)
        assert raw_count(db, "lb", f.rel_path) == 0

    # the next delivery loads; the poison files are not tried again
    write(landing, d2, "lb.csv", csv_text(LB_HEADER, lb_rows(3)))
    second = run_ingest(landing)
    assert [
        (f.rel_path, f.status, f.rows_loaded)
        for f in second.files
        if f.status != "skipped_duplicate"
    ] == [(f"{d2}/lb.csv", "loaded", 9)]
    assert len(second.files) == 6


def test_postgresql_refusing_a_file_quarantines_it_and_the_run_goes_on(db, tmp_path):
    """A raw column an administrator typed by hand (integer): PostgreSQL refuses a file whose
    value does not fit (SQLSTATE 22P02); the file is quarantined and the next one loads."""
    landing = tmp_path / "landing"
    header = "STUDYID,DOMAIN,C_NUM"
    write(landing, "20260603T020000", "zy.csv", csv_text(header, ["S,ZY,1"]))
    run_ingest(landing)
    db.execute("alter table raw.zy alter column c_num type integer using c_num::integer")
    write(landing, "20260603T020001", "zy.csv", csv_text(header, ["S,ZY,not a number"]))
    write(landing, "20260603T030000", "lb.csv", csv_text(LB_HEADER, lb_rows(2)))

    summary = run_ingest(landing)

    refused = [f for f in summary.files if f.status == "quarantined"]
    assert [f.rel_path for f in refused] == ["20260603T020001/zy.csv"], summary.headline()
    assert "PostgreSQL refused the file" in refused[0].reason and "22P02" in refused[0].reason, (
        refused[0].reason
    )
    assert by_name(summary)["lb.csv"].status == "loaded"


def test_valid_files_never_widen_a_raw_table_past_its_bound(db, tmp_path):
    """Five valid LB files of 390 new columns each (each under the per-file cap) widened
    raw.lb to 1,600 columns: ingest exited 0 and every later build failed (TooManyColumns).
    New columns past the bound are kept, per row, in raw.lb._extra_columns (jsonb)."""
    from cfz_platform.quality.raw_gate import prepare_batches

    landing = tmp_path / "landing"
    for k in range(5):
        extra = [f"X{k}_{i}" for i in range(390)]
        rows = [r + "," + ",".join(f"v{k}.{i}" for i in range(390)) for r in lb_rows(2)]
        rows[0] = rows[0].rsplit(",", 1)[0] + ","  # an empty value is left out of the object
        write(
            landing,
            f"20260606T02000{k}",
            "lb.csv",
            csv_text(LB_HEADER + "," + ",".join(extra), rows),
        )

    summary = run_ingest(landing)

    assert [(f.status, f.rows_read, f.rows_loaded) for f in summary.files] == [("loaded", 6, 6)] * 5
    from cfz_platform.ingest.contract import MAX_RAW_TABLE_COLUMNS

    n_columns = db.execute(
        "select count(*) from pg_attribute where attrelid = 'raw.lb'::regclass and attnum > 0"
    ).fetchone()[0]
    assert n_columns <= MAX_RAW_TABLE_COLUMNS
    last = "20260606T020004/lb.csv"
    # two files load at a time: whichever of the first two widens raw.lb first gets columns,
    # every other file's 390 new columns go to _extra_columns
    notes = {f.rel_path: f.reason or "" for f in summary.files}
    widened = [p for p, n in notes.items() if "_extra_columns" not in n]
    assert len(widened) == 1 and widened[0] != last, notes
    assert all(
        "390 column(s) kept in _extra_columns" in n for p, n in notes.items() if p not in widened
    )
    k = widened[0].split("/")[0][-1]
    assert db.execute(f"select count(x{k}_0) from raw.lb").fetchone()[0] == 6  # its columns
    values = db.execute(
        "select _line, _extra_columns ->> 'x4_0', _extra_columns ->> 'x4_389', "
        "_extra_columns ? 'x4_389', lborres from raw.lb where _file = %s order by _line",
        (last,),
    ).fetchall()
    assert values[0][:4] == (2, "v4.0", None, False)  # empty value: not in the object
    assert values[1][:4] == (3, "v4.0", "v4.389", True)
    assert all(v[4] is not None for v in values)  # the contract columns stay columns
    # the raw layer stays usable: the raw gate materializes every current record
    prepare_batches(db)
    assert (
        db.execute(
            "select count(*) from quality_batch.lb where _delivery_id like '20260606%'"
        ).fetchone()[0]
        > 0
    )


# ------------------------------------------------------------------ item 6: long quoted fields


def test_a_quoted_field_over_a_thousand_lines_is_one_reject(db, tmp_path, monkeypatch):
    monkeypatch.setenv("CFZ_INGEST_CHUNK_BYTES", "4096")  # chunk boundaries inside the field
    landing = tmp_path / "landing"
    d = "20260610T020000"
    long_field = "\n".join(f"comment line {i}" for i in range(1_500))
    rows = lb_rows(5)  # lines 2..16
    rows.append(f'CFZ,LB,CFZ-009,HGB,BLOOD,"{long_field}",g/dL,2026-03-02,C1D1')  # lines 17..1516
    rows += lb_rows(5, tests=("PLAT",), dtc="2026-03-09")  # lines 1517..1521
    # and one never closed, to the end of the file
    rows.append('CFZ,LB,CFZ-010,HGB,BLOOD,"' + "\n".join(f"open {i}" for i in range(1_200)))
    write(landing, d, "lb.csv", csv_text(LB_HEADER, rows))

    (f,) = run_ingest(landing).files

    assert f.status == "loaded"
    assert (f.rows_read, f.rows_loaded, f.rows_rejected) == (22, 20, 2)
    got = rejects(db, f"{d}/lb.csv")
    assert [(r[0], r[2]) for r in got] == [(17, "oversized_record"), (1522, "oversized_record")]
    assert "lines 17-1,516 rejected as one record" in got[0][3]
    assert "the end of the file" in got[1][3]
    assert got[0][4].startswith("CFZ,LB,CFZ-009")
    assert db.execute(
        "select count(*), min(_line), max(_line) from raw.lb where _file = %s and lbdtc = '2026-03-09'",
        (f"{d}/lb.csv",),
    ).fetchone() == (5, 1517, 1521)


def test_a_stray_quote_rejects_its_line_only(db, tmp_path, monkeypatch):
    monkeypatch.setenv("CFZ_INGEST_CHUNK_BYTES", "4096")
    landing = tmp_path / "landing"
    d = "20260611T020000"
    rows = (
        lb_rows(2)
        + ['CFZ,LB,CFZ-077,HGB,BLOOD,"11.0,g/dL,2026-03-02,C1D1']
        + lb_rows(500, tests=("PLAT",))
    )
    write(landing, d, "lb.csv", csv_text(LB_HEADER, rows))

    (f,) = run_ingest(landing).files

    assert (f.rows_read, f.rows_loaded, f.rows_rejected) == (507, 506, 1)
    assert [(r[0], r[2]) for r in rejects(db, f"{d}/lb.csv")] == [(8, "malformed_csv")]


# ------------------------------------------------------------------ item 7: one read


def _rewrite_at(points: set[str], path, content: bytes, monkeypatch) -> list[str]:
    """Make the ingestion's crash points rewrite ``path`` once (a sender overwriting the file)."""
    fired: list[str] = []

    def hook(point: str, rel_path: str) -> None:
        if point in points and not fired and rel_path.endswith(path.name):
            path.write_bytes(content)
            fired.append(point)

    monkeypatch.setattr(hooks, "crash_point", hook)
    return fired


def test_the_recorded_sha256_is_that_of_the_bytes_loaded(db, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    d = "20260620T020000"
    a = csv_text(LB_HEADER, ["CFZ,LB,CFZ-001,HGB,BLOOD,11.1,g/dL,2026-03-02,C1D1"]).encode()
    b = csv_text(LB_HEADER, ["CFZ,LB,CFZ-001,HGB,BLOOD,9.9,g/dL,2026-03-02,C1D1"]).encode()
    path = write(landing, d, "lb.csv", a)
    # the sender overwrites the file once the ingestion has hashed it (before it is loaded)
    fired = _rewrite_at({"after_hash", "after_read"}, path, b, monkeypatch)

    run_ingest(landing)

    assert fired
    versions = "select status, sha256 from audit.ingest_files where rel_path = %s and status <> 'skipped_duplicate' order by file_id"
    (row,) = db.execute(versions, (f"{d}/lb.csv",)).fetchall()
    values = db.execute("select lborres from raw.lb where _file = %s", (f"{d}/lb.csv",)).fetchall()
    # what is recorded is what was loaded: content a, with a's sha256
    assert (*row, values) == ("loaded", hashlib.sha256(a).hexdigest(), [("11.1",)])

    monkeypatch.undo()
    run_ingest(landing)  # b is a new version of the file: loaded, both versions kept
    assert db.execute(versions, (f"{d}/lb.csv",)).fetchall() == [
        ("loaded", hashlib.sha256(a).hexdigest()),
        ("loaded", hashlib.sha256(b).hexdigest()),
    ]


def test_a_file_changing_while_read_is_quarantined_and_read_again_next_run(
    db, tmp_path, monkeypatch
):
    landing = tmp_path / "landing"
    d = "20260621T020000"
    a = csv_text(LB_HEADER, lb_rows(2)).encode()
    full = a + b"CFZ,LB,CFZ-099,HGB,BLOOD,8.8,g/dL,2026-03-02,C1D1\n"
    path = write(landing, d, "lb.csv", a)
    fired = _rewrite_at({"mid_read"}, path, full, monkeypatch)  # the sender is still writing

    (f,) = run_ingest(landing).files

    assert fired and f.status == "quarantined" and "changed while it was read" in f.reason
    assert raw_count(db, "lb", f"{d}/lb.csv") == 0
    monkeypatch.undo()
    (again,) = run_ingest(landing).files
    assert again.status == "loaded" and again.rows_loaded == 7
    rows = ledger(db, f"{d}/lb.csv")
    assert [(r[0], r[7]) for r in rows] == [("quarantined", True), ("loaded", False)]
    assert rows[1][5] == hashlib.sha256(full).hexdigest()


def test_files_larger_than_the_memory_spool_load_from_a_private_temporary_file(
    db, tmp_path, monkeypatch
):
    monkeypatch.setenv("CFZ_INGEST_SPOOL_BYTES", "4096")
    landing = tmp_path / "landing"
    d = "20260622T020000"
    write(landing, d, "lb.csv", csv_text(LB_HEADER, lb_rows(200)))
    write(
        landing,
        d,
        "vs.csv.gz",
        gzip.compress(
            csv_text(
                VS_HEADER, [f"CFZ,VS,CFZ-{i:03d},SYSBP,120,mmHg,2026-03-02" for i in range(300)]
            ).encode()
        ),
    )
    write(landing, d, "dm.xpt", (CONFORMANCE / "cdiscpilot01" / "dm.xpt").read_bytes())

    got = {f.rel_path.split("/")[1]: (f.status, f.rows_loaded) for f in run_ingest(landing).files}

    assert got == {
        "dm.xpt": ("loaded", 306),
        "lb.csv": ("loaded", 600),
        "vs.csv.gz": ("loaded", 300),
    }


# ------------------------------------------------------------------ item 8: links, FIFOs


def test_links_fifos_and_devices_are_quarantined_unread(db, tmp_path):
    landing = tmp_path / "landing"
    d, linked = "20260630T020000", "20260630T030000"
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:SECRET-FIRST-LINE\n")
    write(
        landing,
        d,
        "cm.csv",
        "STUDYID,DOMAIN,USUBJID,CMTRT,CMSTDTC\nCFZ,CM,CFZ-001,DEX,2026-01-05\n",
    )
    (landing / d / "dm.csv").symlink_to(secret)  # outside the root
    inside = write(landing, "notes", "lb.csv", csv_text(LB_HEADER, lb_rows(1)))
    (landing / d / "lb.csv").symlink_to(inside)  # inside the root, still a link
    (landing / d / "ae.csv").symlink_to(tmp_path / "missing.csv")  # dangling
    os.mkfifo(landing / d / "vs.csv")  # opening it would block
    try:
        os.mknod(landing / d / "ex.csv", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        device = True
    except PermissionError:
        device = False
    outside = tmp_path / "elsewhere"
    write(outside, "x", "rs.csv", "SECRET-FOLDER")
    (landing / linked).symlink_to(outside / "x", target_is_directory=True)

    summary = run_ingest(landing)

    got = by_name(summary)
    assert got["cm.csv"].status == "loaded"
    expected = {
        "dm.csv": "outside the landing root",
        "lb.csv": "inside the landing root",
        "ae.csv": "does not exist",
        "vs.csv": "FIFO",
    } | ({"ex.csv": "device"} if device else {})
    for name, words in expected.items():
        assert got[name].status == "quarantined", name
        assert words in got[name].reason and "not" in got[name].reason, got[name].reason
    folder = next(f for f in summary.files if f.rel_path == linked)
    assert folder.status == "quarantined" and "symbolic link" in folder.reason
    stored = db.execute(
        "select string_agg(coalesce(reason, ''), ' ') from audit.ingest_files"
    ).fetchone()[0]
    assert "SECRET" not in stored
    assert (
        db.execute(
            "select count(*) from raw.dm where usubjid like '%SECRET%' or studyid like 'root%'"
        ).fetchone()[0]
        == 0
    )
    # the next run records nothing new about them: counted on their rows
    run_ingest(landing)
    for name in expected:
        rows = ledger(db, f"{d}/{name}")
        assert [(r[0], r[6]) for r in rows] == [("quarantined", 2)], name


# ------------------------------------------------------------------ item 9 (ingest parts)


def test_reruns_count_known_versions_instead_of_adding_rows(db, tmp_path):
    landing = tmp_path / "landing"
    d = "20260701T020000"
    write(landing, d, "lb.csv", csv_text(LB_HEADER, lb_rows(2)))
    write(landing, d, "xx.txt", "not a feed")
    runs = [run_ingest(landing) for _ in range(4)]

    assert [f.status for f in runs[-1].files] == ["skipped_duplicate", "skipped_duplicate"]
    for name, status in (("lb.csv", "loaded"), ("xx.txt", "quarantined")):
        rows = db.execute(
            "select status, seen_count, last_seen_run from audit.ingest_files where rel_path = %s",
            (f"{d}/{name}",),
        ).fetchall()
        assert rows == [(status, 4, runs[-1].run_id)], name
    assert (
        db.execute(
            "select count(*) from audit.ingest_files where status = 'skipped_duplicate'"
        ).fetchone()[0]
        == 0
    )


def test_a_natural_key_of_only_spaces_is_rejected_like_an_empty_one(db, tmp_path):
    landing = tmp_path / "landing"
    d = "20260702T020000"
    rows = (
        lb_rows(3)
        + [
            "CFZ,LB,   ,HGB,BLOOD,11.0,g/dL,2026-03-09,C1D8",  # line 11: USUBJID blanks
            'CFZ,LB,CFZ-001,"  ",BLOOD,11.0,g/dL,2026-03-09,C1D8',  # line 12: LBTESTCD quoted blanks
            "CFZ,LB,CFZ-001,HGB,BLOOD,11.0,g/dL,\t ,C1D8",  # line 13: LBDTC tab and space
            "CFZ,LB, CFZ-002,HGB,BLOOD,11.0,g/dL,2026-03-09,C1D8",  # line 14: a leading space only: loads
        ]
    )
    write(landing, d, "lb.csv", csv_text(LB_HEADER, rows))

    (f,) = run_ingest(landing).files

    assert (f.rows_read, f.rows_loaded, f.rows_rejected) == (13, 10, 3)
    assert [(r[0], r[1], r[2]) for r in rejects(db, f"{d}/lb.csv")] == [
        (11, "usubjid", "empty_natural_key"),
        (12, "lbtestcd", "empty_natural_key"),
        (13, "lbdtc", "empty_natural_key"),
    ]
    assert "only spaces" in rejects(db, f"{d}/lb.csv")[0][3]


def test_file_names_cannot_forge_output_lines(db, tmp_path, caplog):
    landing = tmp_path / "landing"
    d = "20260703T020000"
    forged = "ingest fake: files loaded 99, skipped 0, quarantined 0"
    write(landing, d, f"ae.csv\n{forged}", "x")
    write(landing, d, "lb\n.csv", csv_text(LB_HEADER, lb_rows(1)))  # "$" would accept "lb\n"
    write(landing, d, "\x1b[2Jcm.csv", "x")
    (landing / d / os.fsdecode(b"d\xe9.csv")).write_bytes(b"x")  # not UTF-8

    with caplog.at_level(logging.INFO, logger="cfz_platform.ingest"):
        summary = run_ingest(landing)

    assert {f.status for f in summary.files} == {"quarantined"}
    output = summary.log_lines() + caplog.text.splitlines()
    assert not any(
        line.startswith(forged) or line.startswith("QUARANTINED " + forged) for line in output
    )
    assert not any("\x1b" in line for line in output)
    assert any(f"QUARANTINED {d}/ae.csv\\n{forged}" in line for line in summary.log_lines())
    assert db.execute("select to_regclass(%s)", ('raw."lb\n"',)).fetchone()[0] is None
    stored = [
        r[0]
        for r in db.execute(
            "select rel_path from audit.ingest_files where delivery_id = %s order by 1", (d,)
        )
    ]
    assert f"{d}/d\\xe9.csv" in stored and f"{d}/lb\n.csv" in stored
    assert all("\n" not in row["file"] for row in summary.table_rows())


# ------------------------------------------------------------------ issue 24: future delivery ids


def test_a_delivery_dated_in_the_future_is_quarantined_with_that_reason(db, tmp_path):
    """A delivery id after the moment of loading (a mistyped year) would outrank every later
    real correction; beyond a day of clock skew it is quarantined, the real ones load."""
    from datetime import UTC, datetime, timedelta

    landing = tmp_path / "landing"
    far = "29991231T000000"
    skewed = (datetime.now(UTC) + timedelta(hours=12)).strftime("%Y%m%dT%H%M%S")
    write(landing, far, "lb.csv", csv_text(LB_HEADER, lb_rows(2, dtc="2026-03-09")))
    write(landing, skewed, "lb.csv", csv_text(LB_HEADER, lb_rows(1)))
    write(landing, "20260604T020000", "lb.csv", csv_text(LB_HEADER, lb_rows(2)))

    summary = run_ingest(landing)

    outcome = {f.rel_path: f for f in summary.files}
    future = outcome[f"{far}/lb.csv"]
    assert future.status == "quarantined"
    assert "dated after the moment it was loaded" in future.reason, future.reason
    assert raw_count(db, "lb", f"{far}/lb.csv") == 0
    assert ledger(db, f"{far}/lb.csv")[0][:4] == ("quarantined", 0, 0, 0)
    assert outcome[f"{skewed}/lb.csv"].status == "loaded"  # within a day of skew
    assert outcome["20260604T020000/lb.csv"].status == "loaded"
    assert summary.files_quarantined == 1


# ------------------------------------------------------------------ issue 24: record size limit

_PEAK_RSS = (
    "import resource, sys; from pathlib import Path; "
    "from cfz_platform.ingest import run_ingest; "
    "summary = run_ingest(Path(sys.argv[1])); "
    "print(summary.files_quarantined, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def _ingest_peak_rss_mb(landing) -> tuple[int, float]:
    """An ingest of ``landing`` in a process of its own: (files quarantined, peak RSS in MB)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    proc = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, str(landing)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    code, kb = proc.stdout.split()
    return int(code), int(kb) / 1024


def test_a_record_over_the_size_limit_is_rejected_with_its_line_and_memory_stays_bounded(
    db, tmp_path
):
    """A small gzip holding one huge line took ~7 GB: a record (a line, or a quoted field over
    several lines) over the limit (1 MiB) is rejected with its line(s), the rest loads, and
    the ingest's peak memory does not grow with the line."""
    landing, small = tmp_path / "landing", tmp_path / "small"
    rows = lb_rows(3)
    write(small, "20260605T010000", "lb.csv", csv_text(LB_HEADER, rows))
    path = landing / "20260605T020000" / "lb.csv.gz"
    path.parent.mkdir(parents=True)
    piece = b"9" * (1 << 20)
    with gzip.open(path, "wb", compresslevel=1) as gz:
        gz.write((LB_HEADER + "\n" + rows[0] + "\n").encode())
        gz.write(rows[1].rsplit(",", 4)[0].encode() + b",")  # line 3: 256 MB in LBORRES
        for _ in range(256):
            gz.write(piece)
        gz.write(b",g/dL,2026-03-02,C1D1\n")
        # lines 4-27: a quoted field of 24 lines of 100 kB each (2.4 MB), closed on line 27
        gz.write(rows[2].rsplit(",", 1)[0].encode() + b',"' + b"v" * 100_000 + b"\n")
        for _ in range(22):
            gz.write(b"v" * 100_000 + b"\n")
        gz.write(b"v" * 100_000 + b'"\n')
        gz.write((rows[3] + "\n").encode())  # line 28

    base_code, base_mb = _ingest_peak_rss_mb(small)
    code, peak_mb = _ingest_peak_rss_mb(landing)

    assert (base_code, code) == (0, 0)
    rel = "20260605T020000/lb.csv.gz"
    (row,) = ledger(db, rel)
    assert row[:4] == ("loaded", 4, 2, 2)  # rows read = loaded + rejected
    got = rejects(db, rel)
    assert [(r[0], r[2]) for r in got] == [(3, "oversized_record"), (4, "oversized_record")]
    assert "268,435," in got[0][3] and "line 3 " in got[0][3] and "1,048,576" in got[0][3]
    assert "lines 4-27" in got[1][3], got[1][3]
    assert raw_count(db, "lb", rel) == 2
    assert peak_mb - base_mb < 64, (base_mb, peak_mb)
