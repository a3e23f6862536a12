"""The chunked fast path gives exactly what the record-by-record path gives, as PostgreSQL reads it.

Random CSV bodies mixing clean lines with every structural oddity (quoted commas, ``""``,
escaped quotes, stray quotes, quoted line breaks, CR LF, bare CR, NUL, non-UTF-8 bytes, blank
lines, wrong widths, empty keys) are loaded both ways with tiny chunks (so that chunk
boundaries fall everywhere); the rejects, the counts and the rows PostgreSQL parses out of the
COPY payloads must be identical. A hand-worked file then goes through ``run_ingest`` in
several chunks.
"""

from __future__ import annotations

import hashlib
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from cfz_platform.ingest import run_ingest
from cfz_platform.ingest.chunks import ChunkedCsv, RowSink
from cfz_platform.ingest.readers import _csv_records
from cfz_platform.ingest.validation import RowChecker
from tests.ingest.helpers import write

COLUMNS = ["usubjid", "lbtestcd", "lborres", "lbdtc"]  # three natural-key columns, one not
TAIL = b",7,20260101T000000,20260101T000000/lb.csv\n"
FIELD = st.sampled_from(
    [
        b"CFZ-001",
        b"HGB",
        b"11.2",
        b"2026-03-02",
        b"",
        b'""',
        b'"a,b"',
        b'"say ""hi"""',
        b'a"b',
        b'"',
        b'"two\nlines"',
        b'"cr\r\nlf"',
        b"x\ry",
        b"nul\x00",
        b"caf\xc3\xa9",
        b"caf\xe9",
        b"\\.",
        b"'; drop",
    ]
)
LINE = st.one_of(
    st.lists(FIELD, min_size=4, max_size=4).map(b",".join),
    st.lists(FIELD, min_size=3, max_size=5).map(b",".join),
    st.just(b""),
    st.just(b"CFZ-002,PLAT,250,2026-03-02"),
    st.just(b'CFZ-003,"HGB,x",1.5,2026-03-02'),
    st.just(b'"CFZ-004","HGB","","2026-03-02"'),
)


def careful(body: bytes) -> tuple[RowSink, bytes, list[int], list[int]]:
    sink = RowSink(RowChecker("lb", COLUMNS), TAIL)
    blank: list[int] = []
    undecodable: list[int] = []
    lines = io.BytesIO(body).readlines()
    payload = b"".join(sink.careful(_csv_records(lines, len(COLUMNS), blank, undecodable)))
    return sink, payload, blank, undecodable


def chunked(body: bytes, chunk_bytes: int) -> tuple[RowSink, bytes, list[int], list[int]]:
    sink = RowSink(RowChecker("lb", COLUMNS), TAIL)
    blank: list[int] = []
    undecodable: list[int] = []
    payload = b"".join(
        ChunkedCsv(io.BytesIO(body), sink, blank, undecodable, chunk_bytes).payloads()
    )
    return sink, payload, blank, undecodable


def parsed_by_postgres(db, payload: bytes) -> list[tuple]:
    cols = [*COLUMNS, "_line", "_row_hash", "_file_id", "_delivery_id", "_file"]
    with db.transaction(), db.cursor() as cur:
        cur.execute(
            sql.SQL("create temp table t ({}) on commit drop").format(
                sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(c)) for c in cols)
            )
        )
        with cur.copy(
            sql.SQL("copy t from stdin (format csv, force_null ({}))").format(
                sql.SQL(", ").join(sql.Identifier(c) for c in COLUMNS)
            )
        ) as copy:
            copy.write(payload)
        return sorted(cur.execute("select * from t").fetchall(), key=lambda r: int(r[4]))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    lines=st.lists(LINE, min_size=1, max_size=25),
    crlf=st.booleans(),
    chunk=st.sampled_from([1, 17, 64, 1 << 20]),
)
def test_chunked_path_matches_the_record_path_row_for_row(db, lines, crlf, chunk):
    body = (b"\r\n" if crlf else b"\n").join(lines) + b"\n"
    slow, slow_payload, slow_blank, slow_bad = careful(body)
    fast, fast_payload, fast_blank, fast_bad = chunked(body, chunk)

    assert (fast.read, fast.loaded, len(fast.rejects)) == (
        slow.read,
        slow.loaded,
        len(slow.rejects),
    )
    assert fast.read == fast.loaded + len(fast.rejects)
    key = lambda r: r.line  # noqa: E731
    assert sorted(fast.rejects, key=key) == sorted(slow.rejects, key=key)
    assert fast.kinds == slow.kinds
    assert (sorted(fast_blank), sorted(fast_bad)) == (sorted(slow_blank), sorted(slow_bad))
    assert parsed_by_postgres(db, fast_payload) == parsed_by_postgres(db, slow_payload)


def test_run_ingest_in_small_chunks_keeps_lines_hashes_and_rejects(db, tmp_path, monkeypatch):
    monkeypatch.setenv("CFZ_INGEST_CHUNK_BYTES", "40")
    landing = tmp_path / "landing"
    d = "20260601T020000"
    rows = [
        'CFZ,LB,CFZ-001,KLCFR,SERUM,"15,2",mg/dL,2026-03-02,C1D1',  # line 2: quoted comma, loaded
        'CFZ,LB,CFZ-001,"",SERUM,1,g/dL,2026-03-02,C1D1',  # line 3: "" key -> rejected
        'CFZ,LB,CFZ-002,HGB,BLOOD,"9\n.8",g/dL,2026-03-02,C1D1',  # lines 4-5: one record
        "",  # line 6: blank, skipped
        "CFZ,LB,CFZ-003,HGB,BLOOD,10.1,g/dL,2026-03-02",  # line 7: 8 fields
        "CFZ,LB,CFZ-004,HGB,BLOOD,10.4,g/dL,2026-03-02,C1D1",  # line 8: clean
    ]
    header = "STUDYID,DOMAIN,USUBJID,LBTESTCD,LBSPEC,LBORRES,LBORRESU,LBDTC,VISIT"
    write(landing, d, "lb.csv", ("\r\n".join([header, *rows]) + "\r\n").encode())

    (f,) = run_ingest(landing).files

    assert (f.status, f.rows_read, f.rows_loaded, f.rows_rejected) == ("loaded", 5, 3, 2)
    got = db.execute(
        "select usubjid, lborres, _line, _row_hash from raw.lb where _file = %s order by _line",
        (f"{d}/lb.csv",),
    ).fetchall()
    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
    assert got == [
        ("CFZ-001", "15,2", 2, md5("CFZ,LB,CFZ-001,KLCFR,SERUM,15,2,mg/dL,2026-03-02,C1D1")),
        ("CFZ-002", "9\n.8", 4, md5("CFZ,LB,CFZ-002,HGB,BLOOD,9\n.8,g/dL,2026-03-02,C1D1")),
        ("CFZ-004", "10.4", 8, md5("CFZ,LB,CFZ-004,HGB,BLOOD,10.4,g/dL,2026-03-02,C1D1")),
    ]
    assert db.execute(
        "select line, column_name, kind from audit.ingest_rejects where rel_path = %s order by line",
        (f"{d}/lb.csv",),
    ).fetchall() == [(3, "lbtestcd", "empty_natural_key"), (7, None, "wrong_field_count")]
    assert db.execute(
        "select reason from audit.ingest_files where rel_path = %s", (f"{d}/lb.csv",)
    ).fetchone() == ("1 blank line(s) skipped",)


@pytest.mark.parametrize("chunk", ["64", "1048576"])
def test_a_clean_file_loads_every_line_with_its_physical_line_number(
    db, tmp_path, monkeypatch, chunk
):
    monkeypatch.setenv("CFZ_INGEST_CHUNK_BYTES", chunk)
    landing = tmp_path / "landing"
    d = f"20260602T{int(chunk) % 1_000_000:06d}"
    rows = [f"CFZ,LB,CFZ-{i:03d},HGB,BLOOD,{i}.5,g/dL,2026-03-02,C1D1" for i in range(1, 301)]
    header = "STUDYID,DOMAIN,USUBJID,LBTESTCD,LBSPEC,LBORRES,LBORRESU,LBDTC,VISIT"
    write(landing, d, "lb.csv", "\n".join([header, *rows]))  # no final line break

    (f,) = run_ingest(landing).files

    assert (f.rows_read, f.rows_loaded, f.rows_rejected) == (300, 300, 0)
    got = db.execute(
        "select _line, lborres, _row_hash from raw.lb where _file = %s order by _line",
        (f"{d}/lb.csv",),
    ).fetchall()
    assert got == [
        (i + 1, f"{i}.5", hashlib.md5(rows[i - 1].encode()).hexdigest()) for i in range(1, 301)
    ]
