"""The raw gate's extended natural key reads qualifier columns directly when it knows the raw
table's columns (the batch queries) and through to_jsonb when it does not (the suites'
fingerprint): both give the same key, row for row, including for columns no file carried.
It is the key staging stores (``contract/current_version.py``): the business key as staging
normalizes it, then the qualifiers."""

from __future__ import annotations

import hashlib

from cfz_platform.ingest import ensure_raw_layer
from cfz_platform.quality.raw_gate import extended_key_sql

ROWS = [  # usubjid, vstestcd, vsdtc, vstptnum, vspos
    ("S1", "SYSBP", "2026-01-05", "1", "SITTING"),
    ("S1", "SYSBP", "2026-01-05", "1.0", " sitting "),  # same key as the row above
    ("S1", "SYSBP", "2026-01-05", "2", "SITTING"),
    ("S1", "SYSBP", "2026-01-05", "1", "STANDING"),
    ("S1", "SYSBP", "2026-01-05", None, ""),  # no qualifier: the business key alone
    ("S1", "SYSBP", "2026-01-05", "", None),
    (None, "SYSBP", "2026-01-05", "1", "SITTING"),
]


def test_direct_and_jsonb_keys_agree_and_qualifiers_tell_records_apart(db):
    ensure_raw_layer(db)
    db.execute("alter table raw.vs add column if not exists vstptnum text")
    db.execute("alter table raw.vs add column if not exists vspos text")
    for i, row in enumerate(ROWS):
        db.execute(
            "insert into raw.vs (usubjid, vstestcd, vsdtc, vstptnum, vspos, _file_id, "
            "_delivery_id, _file, _line, _row_hash) values (%s, %s, %s, %s, %s, 1, 'D1', 'D1/vs.csv', %s, 'h')",
            (*row, i + 2),
        )
    present = {
        r[0]
        for r in db.execute(
            "select column_name from information_schema.columns "
            "where table_schema = 'raw' and table_name = 'vs'"
        )
    }
    assert "vsloc" not in present  # a qualifier no file has carried yet
    keys = db.execute(
        f"select _line, {extended_key_sql('vs')}, {extended_key_sql('vs', present=present)} "
        "from raw.vs r order by _line"
    ).fetchall()
    assert all(jsonb == direct for _, jsonb, direct in keys)
    by_line = {line: direct for line, _, direct in keys}
    assert by_line[2] == by_line[3]  # '1.0' and ' sitting ' normalize to '1' and 'SITTING'
    assert len({by_line[2], by_line[4], by_line[5]}) == 3  # another timepoint, another position
    assert by_line[6] == by_line[7]  # empty and absent qualifiers add nothing
    assert by_line[8] != by_line[2]  # a missing USUBJID stays distinct from any subject
    assert by_line[2] == _md5("S1|SYSBP|2026-01-05|vstptnum=1|vspos=SITTING")
    assert by_line[8] == _md5("<null>|SYSBP|2026-01-05|vstptnum=1|vspos=SITTING")


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


LB_ROWS = [  # usubjid, lbtestcd, lbspec, lbdtc
    ("S1", "ALB", None, "2026-01-05"),
    (" S1", " alb ", "", "2026-01-05 "),  # staging trims, upper-cases LBTESTCD, reads '' as null
    ("S1", "ALB", "serum", "2026-01-05"),
    ("S1", "ALB", "SERUM", None),
]


def test_the_gate_keys_the_business_key_as_staging_normalizes_it(db):
    """An LB result without a specimen, spaces around key values, a lower-case test code and
    an empty key part: the gate's key of each row is the md5 staging stores as _natural_key."""
    ensure_raw_layer(db)
    for i, row in enumerate(LB_ROWS):
        db.execute(
            "insert into raw.lb (usubjid, lbtestcd, lbspec, lbdtc, _file_id, _delivery_id, _file, "
            "_line, _row_hash) values (%s, %s, %s, %s, 1, 'D1', 'D1/lb.csv', %s, 'h')",
            (*row, i + 2),
        )
    keys = db.execute(
        f"select {extended_key_sql('lb')}, {extended_key_sql('lb', present=set())} "
        "from raw.lb r order by _line"
    ).fetchall()
    assert [jsonb for jsonb, _ in keys] == [direct for _, direct in keys]
    assert [k for k, _ in keys] == [
        _md5("S1|ALB||2026-01-05"),
        _md5("S1|ALB||2026-01-05"),
        _md5("S1|ALB|SERUM|2026-01-05"),
        _md5("S1|ALB|SERUM|<null>"),
    ]
