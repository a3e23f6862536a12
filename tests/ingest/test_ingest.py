"""Ingestion against a real PostgreSQL: reconciliation, reruns, corrections, malformed input, kills.

Every landing file here is hand-written per feeds.md; each test uses its own delivery ids so
the tests of this module can share one warehouse.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cfz_platform.ingest import run_ingest
from tests.conftest import CONFORMANCE, ROOT
from tests.ingest.helpers import DM_HEADER, LB_HEADER, csv_text, lb_rows, raw_count, rejects, write


def ledger(db, rel_path: str) -> list[tuple]:
    return db.execute(
        "select status, rows_read, rows_loaded, rows_rejected, reason, file_id from audit.ingest_files "
        "where rel_path = %s order by file_id",
        (rel_path,),
    ).fetchall()


def test_counts_reconcile_and_structural_rejects_name_file_line_column(db, tmp_path):
    landing = tmp_path / "landing"
    d = "20260101T020000"
    write(
        landing,
        d,
        "dm.csv",
        csv_text(DM_HEADER, [f"CFZ,DM,CFZ-{i:03d},01,A,2026-01-0{i},6{i},F" for i in range(1, 6)]),
    )
    good = lb_rows(10)  # 30 rows, lines 2..31
    bad = [
        "CFZ,LB,CFZ-001,HGB,BLOOD,11.0,g/dL,2026-03-09",  # line 32: 8 fields, not 9
        "CFZ,LB,,HGB,BLOOD,11.0,g/dL,2026-03-09,C1D8",  # line 33: empty USUBJID
        "CFZ,LB,CFZ-002,LBTEST_PLACEHOLDER,BLOOD,11.0,g/dL,2026-03-09,C1D8",  # line 34: bad bytes
        "CFZ,LB,CFZ-003,HGB,BLOOD,1\x001,g/dL,2026-03-09,C1D8",  # line 35: NUL
        "CFZ,LB,CFZ-004,HGB,BLOOD,n/a,g/dL,2026-13-45,C1D8",  # line 36: semantic -> loaded
        'CFZ,LB,CFZ-005,"IG\nG",SERUM,900,mg/dL,2026-03-09,C1D8',  # lines 37-38: one record, loaded
        "CFZ,LB,CFZ-005,HGB,BLOOD,,g/dL,,C1D8",  # line 39: empty LBDTC
    ]
    body = csv_text(LB_HEADER, good + bad).encode().replace(b"LBTEST_PLACEHOLDER", b"H\xe9MO")
    write(landing, d, "lb.csv", body)

    summary = run_ingest(landing)

    assert [(f.rel_path, f.status) for f in summary.files] == [
        (f"{d}/dm.csv", "loaded"),
        (f"{d}/lb.csv", "loaded"),
    ]
    # 37 records (lines 2..39, one record spans 37-38): 32 load, 5 are broken in structure
    assert ledger(db, f"{d}/lb.csv")[0][:4] == ("loaded", 37, 32, 5)
    assert raw_count(db, "lb", f"{d}/lb.csv") == 32
    assert raw_count(db, "dm", f"{d}/dm.csv") == 5
    got = [(line, col, kind) for line, col, kind, _, _ in rejects(db, f"{d}/lb.csv")]
    assert got == [
        (32, None, "wrong_field_count"),
        (33, "usubjid", "empty_natural_key"),
        (34, "lbtestcd", "undecodable_bytes"),
        (35, "lborres", "nul_byte"),
        (39, "lbdtc", "empty_natural_key"),
    ]
    by_line = {r[0]: r for r in rejects(db, f"{d}/lb.csv")}
    assert by_line[34][4] == "H\\xe9MO" and "not UTF-8" in by_line[34][3]
    assert by_line[35][4] == "1\\x001"
    # semantic problems load as sent; the multi-line record keeps its first line number
    row = db.execute(
        "select lborres, lbdtc, _line from raw.lb where _file = %s and lborres = 'n/a'",
        (f"{d}/lb.csv",),
    ).fetchone()
    assert row == ("n/a", "2026-13-45", 36)
    assert db.execute(
        "select lbtestcd, _line from raw.lb where _file = %s and lbspec = 'SERUM' and lborres = '900'",
        (f"{d}/lb.csv",),
    ).fetchall() == [("IG\nG", 37)]
    # every physical data line is accounted for exactly once
    loaded_lines = {
        r[0] for r in db.execute("select _line from raw.lb where _file = %s", (f"{d}/lb.csv",))
    }
    rejected_lines = set(by_line)
    assert loaded_lines.isdisjoint(rejected_lines)
    assert loaded_lines | rejected_lines | {38} == set(range(2, 40))
    # lineage columns are filled
    lineage = db.execute(
        "select count(distinct _file_id), min(_delivery_id), count(*) filter (where _row_hash ~ '^[0-9a-f]{32}$'), "
        "count(*) filter (where _loaded_at is null) from raw.lb where _file = %s",
        (f"{d}/lb.csv",),
    ).fetchone()
    assert lineage == (1, d, 32, 0)


def test_reconciliation_identity_holds_in_every_ledger_row(db):
    assert (
        db.execute(
            "select count(*) from audit.ingest_files where rows_read <> rows_loaded + rows_rejected"
        ).fetchone()[0]
        == 0
    )
    mismatch = db.execute(
        "select f.rel_path from audit.ingest_files f left join audit.ingest_rejects r using (file_id) "
        "group by f.file_id, f.rel_path, f.rows_rejected having count(r.*) <> f.rows_rejected"
    ).fetchall()
    assert mismatch == []


def test_rerun_changes_nothing_and_correction_keeps_both_versions(db, tmp_path):
    landing = tmp_path / "landing"
    d1, d2 = "20260201T020000", "20260215T020000"
    write(landing, d1, "lb.csv", csv_text(LB_HEADER, lb_rows(4)))
    write(landing, d1, "dm.xpt", (CONFORMANCE / "cdiscpilot01" / "dm.xpt").read_bytes())
    first = run_ingest(landing)
    assert [f.status for f in first.files] == ["loaded", "loaded"]
    before = (
        db.execute("select count(*) from raw.lb").fetchone()[0],
        db.execute("select count(*) from raw.dm").fetchone()[0],
    )

    again = run_ingest(landing)
    assert [f.status for f in again.files] == ["skipped_duplicate", "skipped_duplicate"]
    after = (
        db.execute("select count(*) from raw.lb").fetchone()[0],
        db.execute("select count(*) from raw.dm").fetchone()[0],
    )
    assert after == before

    # a correction delivery: CFZ-001's haemoglobin was 11.1, the lab resends 9.8
    write(
        landing,
        d2,
        "lb.csv",
        csv_text(LB_HEADER, ["CFZ,LB,CFZ-001,HGB,BLOOD,9.8,g/dL,2026-03-02,C1D1"]),
    )
    run_ingest(landing)
    versions = db.execute(
        "select lborres, _delivery_id from raw.lb where usubjid = 'CFZ-001' and lbtestcd = 'HGB' "
        "and _delivery_id in (%s, %s) order by _delivery_id desc, _line desc",
        (d1, d2),
    ).fetchall()
    assert versions == [("9.8", d2), ("11.1", d1)]

    # the same file name re-sent with other content is a new version, also kept
    write(
        landing,
        d2,
        "lb.csv",
        csv_text(LB_HEADER, ["CFZ,LB,CFZ-001,HGB,BLOOD,9.9,g/dL,2026-03-02,C1D1"]),
    )
    run_ingest(landing)
    assert [r[0] for r in ledger(db, f"{d2}/lb.csv")] == ["loaded", "loaded"]
    values = db.execute(
        "select lborres from raw.lb where _file = %s order by _file_id", (f"{d2}/lb.csv",)
    ).fetchall()
    assert values == [("9.8",), ("9.9",)]


def test_each_unreadable_file_is_quarantined_with_its_reason(db, tmp_path):
    landing = tmp_path / "landing"
    d = "20260301T020000"
    pilot_dm = (CONFORMANCE / "cdiscpilot01" / "dm.xpt").read_bytes()
    write(landing, d, "lb.csv", csv_text(LB_HEADER, lb_rows(2)).encode("utf-16"))
    write(
        landing,
        d,
        "ex.csv",
        "STUDYID,DOMAIN,USUBJID,EXTRT,EXDOSU,EXSTDTC\nCFZ,EX,CFZ-001,CARFILZOMIB,mg,2026-01-05\n",
    )
    write(landing, d, "labs.csv", csv_text(LB_HEADER, lb_rows(1)))
    write(landing, d, "dm.xpt", pilot_dm[:50_000])
    write(landing, d, "vs.csv", b"")
    write(
        landing,
        d,
        "cm.csv",
        'STUDYID,DOMAIN,USUBJID,"CM TRT;drop table raw.cm",CMSTDTC,CMTRT\nCFZ,CM,CFZ-001,x,2026,y\n',
    )
    write(
        landing,
        d,
        "ae.csv",
        (
            "USUBJID,AESPID,AETERM,AESTDTC,AETOXGR\n" + "CFZ-001,1,Naus\xe9e,2026-01-0{},2\n" * 5
        ).encode("latin-1"),
    )
    write(
        landing,
        d,
        "rs.csv",
        "STUDYID,DOMAIN,USUBJID,RSTESTCD,RSSTRESC,RSDTC,usubjid\nCFZ,RS,CFZ-001,ECOG,1,2026,x\n",
    )
    summary = run_ingest(landing)
    reasons = {f.rel_path.split("/")[1]: f.reason for f in summary.files}
    assert {f.status for f in summary.files} == {"quarantined"}
    assert "UTF-16" in reasons["lb.csv"]
    assert "missing required column(s) for EX: EXDOSE" in reasons["ex.csv"]
    assert "not an SDTM domain name" in reasons["labs.csv"]
    assert "truncated XPT" in reasons["dm.xpt"]
    assert "empty file" in reasons["vs.csv"]
    assert "bad column name" in reasons["cm.csv"]
    assert "bad encoding" in reasons["ae.csv"] and "5 of 5" in reasons["ae.csv"]
    assert "duplicate column" in reasons["rs.csv"]
    for domain in ("lb", "ex", "dm", "vs", "cm", "ae", "rs"):
        assert (
            db.execute(
                f"select count(*) from raw.{domain} where _delivery_id = %s", (d,)
            ).fetchone()[0]
            == 0
        )
    # the raw table was not touched by the hostile header
    assert db.execute("select to_regclass('raw.cm')").fetchone()[0] == "raw.cm"


# ------------------------------------------------------------------------------ fuzzing

NASTY = st.sampled_from(
    [
        "'; drop table raw.lb; --",
        '"',
        '""',
        'a"b',
        "\\",
        "\\.",
        "\n\\.\n",
        "\t",
        "\r\n",
        "\r",
        ",",
        "x" * 200_000,
        "NULL",
        "\\N",
        "😀",
        "é",
        "\x00",
        "\u2028",
        "",
    ]
)
VALUE = st.one_of(NASTY, st.text(max_size=30), st.binary(max_size=8))
_counter = iter(range(1, 10_000))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(st.lists(VALUE, min_size=3, max_size=3), min_size=1, max_size=12))
def test_fuzzed_field_contents_never_crash_and_every_row_is_accounted(db, tmp_path_factory, rows):
    landing = tmp_path_factory.mktemp("fuzz")
    d = f"20250101T{next(_counter):06d}"
    out = io.BytesIO()
    out.write((LB_HEADER + "\n").encode())
    for i, (orres, unit, visit) in enumerate(rows):
        fields = [b"CFZ", b"LB", f"CFZ-{i:03d}".encode(), b"HGB", b"BLOOD"]
        fields += [v if isinstance(v, bytes) else v.encode() for v in (orres, unit)]
        fields += [b"2026-03-02", visit if isinstance(visit, bytes) else visit.encode()]
        out.write(b",".join(b'"' + f.replace(b'"', b'""') + b'"' for f in fields) + b"\n")
    write(landing, d, "lb.csv", out.getvalue())

    summary = run_ingest(landing)

    (f,) = summary.files
    assert f.status in ("loaded", "quarantined"), f.reason
    if f.status == "quarantined":
        assert "bad encoding" in f.reason
        return
    assert f.rows_read == len(rows) == f.rows_loaded + f.rows_rejected
    loaded = db.execute(
        "select usubjid, lborres, lborresu, visit from raw.lb where _file = %s", (f"{d}/lb.csv",)
    ).fetchall()
    rejected = rejects(db, f"{d}/lb.csv")
    assert len(loaded) == f.rows_loaded and len(rejected) == f.rows_rejected
    for usubjid, orres, unit, visit in loaded:
        i = int(usubjid.split("-")[1])
        sent = [v.decode() if isinstance(v, bytes) else v for v in rows[i]]
        assert [orres, unit, visit] == [v or None for v in sent]
    for _, _, kind, _, _ in rejected:
        assert kind in ("undecodable_bytes", "nul_byte")


# ------------------------------------------------------------------------------ kill -9

KILL_SCRIPT = "import sys; from pathlib import Path; from cfz_platform.ingest import run_ingest; run_ingest(Path(sys.argv[1]))"


KILL_POINTS = [
    "mid_read",
    "after_read",
    "before_copy",
    "mid_copy",
    "before_rejects",
    "before_commit",
    "after_commit",
]


@pytest.mark.parametrize("point", KILL_POINTS)
def test_sigkill_mid_file_leaves_nothing_and_next_run_completes(db, tmp_path, point):
    landing = tmp_path / "landing"
    d = f"20260401T0{KILL_POINTS.index(point)}0000"
    write(landing, d, "dm.csv", csv_text(DM_HEADER, ["CFZ,DM,CFZ-001,01,A,2026-01-05,61,F"]))
    write(
        landing,
        d,
        "lb.csv",
        csv_text(LB_HEADER, lb_rows(20) + ["CFZ,LB,,HGB,BLOOD,1,g/dL,2026-03-02,C1D1"]),
    )
    env = {**os.environ, "CFZ_INGEST_CRASH_AT": f"{point}@lb.csv", "CFZ_INGEST_COPY_BATCH": "7"}
    proc = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, str(landing)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    # dm.csv is loaded by the other loader thread: committed whole, or not at all when the kill
    # came first; lb.csv left nothing unless the kill came after its commit
    dm = ledger(db, f"{d}/dm.csv")
    assert dm == [] or (dm[0][0] == "loaded" and raw_count(db, "dm", f"{d}/dm.csv") == 1)
    assert dm or raw_count(db, "dm", f"{d}/dm.csv") == 0
    lb_done = point == "after_commit"
    assert len(ledger(db, f"{d}/lb.csv")) == int(lb_done)
    assert raw_count(db, "lb", f"{d}/lb.csv") == (60 if lb_done else 0)
    assert len(rejects(db, f"{d}/lb.csv")) == int(lb_done)
    # the lock died with the process: the next run goes ahead and completes
    summary = run_ingest(landing)
    assert [f.status for f in summary.files] == [
        "skipped_duplicate" if dm else "loaded",
        "skipped_duplicate" if lb_done else "loaded",
    ]
    assert raw_count(db, "dm", f"{d}/dm.csv") == 1
    assert [r[:4] for r in ledger(db, f"{d}/lb.csv") if r[0] == "loaded"] == [("loaded", 61, 60, 1)]
    assert raw_count(db, "lb", f"{d}/lb.csv") == 60
    assert rejects(db, f"{d}/lb.csv")[0][:3] == (62, "usubjid", "empty_natural_key")


def test_raw_statistics_cover_the_rows_loaded_since_the_last_analyze(db, tmp_path):
    """Before the raw gate the planner knows the new rows: the raw gate and the dbt build that
    read "rows of files after N" next would otherwise plan for the night before's statistics
    (estimated 1 row, nested loops: an incremental staging model 20 times slower). The
    ingestion leaves them to that reader (``analyze_changed_raw_tables``), which analyses each
    changed table once however many ingests came before, and nothing when nothing changed."""
    from cfz_platform.ingest.statistics import analyze_changed_raw_tables

    landing = tmp_path / "landing"

    def planner_rows(table: str) -> tuple[float, int]:
        reltuples = db.execute(
            "select reltuples from pg_class where oid = %s::regclass", (f"raw.{table}",)
        ).fetchone()[0]
        return reltuples, db.execute(f"select count(*) from raw.{table}").fetchone()[0]

    analyze_changed_raw_tables()  # what earlier tests of the module loaded
    write(landing, "20260601T020000", "lb.csv", csv_text(LB_HEADER, lb_rows(40)))
    run_ingest(landing)
    reltuples, rows = planner_rows("lb")
    assert reltuples != rows  # the ingestion did not analyse: the planner's count is stale
    assert analyze_changed_raw_tables() == ["lb"]
    reltuples, rows = planner_rows("lb")
    assert reltuples == rows  # a table this small is read whole by analyze: exact

    write(landing, "20260602T020000", "lb.csv", csv_text(LB_HEADER, lb_rows(90, dtc="2026-03-09")))
    run_ingest(landing)
    assert analyze_changed_raw_tables() == ["lb"]
    reltuples, rows = planner_rows("lb")
    assert reltuples == rows
    (newest,) = db.execute(
        "select min(_file_id) from raw.lb where _delivery_id = '20260602T020000'"
    ).fetchone()
    plan = db.execute(
        f"explain (format json) select * from raw.lb where _file_id >= {newest}"
    ).fetchone()[0]
    assert plan[0]["Plan"]["Plan Rows"] >= 200  # 270 rows arrived; stale statistics said 1
    # nothing loaded since: nothing to analyse
    assert analyze_changed_raw_tables() == []


def test_a_path_resent_back_to_earlier_bytes_supersedes_the_version_between(db, tmp_path):
    """feeds.md: a re-sent file supersedes the older one whole. A, then B, then A again under
    the same path: the third is a new version and A's values are current again (it used to be
    skipped as "same content as" the first, leaving B's 8.0 current)."""
    from cfz_platform.quality.raw_gate import current_query

    landing = tmp_path / "landing"
    d = "20260801T020000"
    a = csv_text(LB_HEADER, ["CFZ,LB,CFZ-801,HGB,BLOOD,11.0,g/dL,2026-03-02,C1D1"])
    b = csv_text(LB_HEADER, ["CFZ,LB,CFZ-801,HGB,BLOOD,8.0,g/dL,2026-03-02,C1D1"])
    for content in (a, b, a):
        write(landing, d, "lb.csv", content)
        assert [f.status for f in run_ingest(landing).files] == ["loaded"]
    rerun = run_ingest(landing)  # A is still there: nothing new
    assert [f.status for f in rerun.files] == ["skipped_duplicate"]

    versions = ledger(db, f"{d}/lb.csv")
    assert [v[0] for v in versions] == ["loaded", "loaded", "loaded"]
    assert rerun.files[0].file_id == versions[-1][5]  # counted on the latest version
    current = db.execute(
        f"select usubjid, lborres, _file_id from ({current_query('lb', where=f'r._delivery_id = {d!r}')}) c"
    ).fetchall()
    assert current == [("CFZ-801", "11.0", versions[-1][5])]


def test_an_upgraded_ledger_drops_the_one_version_per_content_index(db):
    from cfz_platform.ingest.schema import ensure_raw_layer

    # an earlier release's index, by name (unique there; this module's ledger already holds a
    # path re-sent back to earlier bytes, which that index would refuse)
    db.execute(
        "create index if not exists ingest_files_version_key on audit.ingest_files "
        "(rel_path, sha256) where status <> 'skipped_duplicate' and not read_again"
    )
    db.commit()
    ensure_raw_layer(db)
    indexes = {
        r[0]
        for r in db.execute(
            "select indexname from pg_indexes where schemaname = 'audit' and tablename = 'ingest_files'"
        )
    }
    assert "ingest_files_version_key" not in indexes
    assert "ingest_files_path_versions" in indexes
