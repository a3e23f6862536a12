"""The raw gate's extended natural key reads qualifier columns directly when it knows the raw
table's columns (the batch queries) and through to_jsonb when it does not (the suites'
fingerprint): both give the same key, row for row, including for columns no file carried."""

from __future__ import annotations

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
