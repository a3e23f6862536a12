"""The build comparison helper (tests/transform/mart_diff.py) finds every kind of difference.

Hand-made schemas: a snapshot of ``cmp_src`` is identical to it; then one changed value, one
duplicated row (a multiset difference ``except`` alone would miss), a retyped column and a
dropped table are each reported on their own table.
"""

from __future__ import annotations

from tests.transform.mart_diff import compare_builds, snapshot


def test_snapshot_then_changes_are_found(db):
    db.execute("drop schema if exists cmp_src cascade")
    db.execute("create schema cmp_src")
    db.execute("create table cmp_src.cycles (usubjid text, cycle integer, rdi numeric)")
    db.execute("insert into cmp_src.cycles values ('S1', 1, 1.0), ('S1', 2, 0.8333)")
    db.execute("create table cmp_src.events (usubjid text, is_dlt boolean)")
    db.execute("insert into cmp_src.events values ('S1', true)")
    db.execute("create table cmp_src.ages (usubjid text, age integer)")
    db.execute("insert into cmp_src.ages values ('S1', 64)")
    db.execute("create table cmp_src.gone (x integer)")

    assert snapshot(db, "before", ("cmp_src",)) == {"cmp_src": 4}
    same = compare_builds(db, "before", ("cmp_src",))["cmp_src"]
    assert [(d.table, d.identical, d.rows_a) for d in same] == [
        ("ages", True, 1),
        ("cycles", True, 2),
        ("events", True, 1),
        ("gone", True, 0),
    ]

    db.execute("update cmp_src.cycles set rdi = 0.8334 where cycle = 2")
    db.execute("insert into cmp_src.events values ('S1', true)")
    db.execute("alter table cmp_src.ages alter column age type numeric")
    db.execute("drop table cmp_src.gone")
    diffs = {d.table: d for d in compare_builds(db, "before", ("cmp_src",))["cmp_src"]}
    assert not any(d.identical for d in diffs.values())
    assert (diffs["cycles"].rows_only_a, diffs["cycles"].rows_only_b) == (1, 1)
    assert (diffs["events"].rows_only_a, diffs["events"].rows_only_b) == (0, 1)
    assert diffs["ages"].columns_a == (("usubjid", "text"), ("age", "integer"))
    assert diffs["ages"].columns_b == (("usubjid", "text"), ("age", "numeric"))
    assert diffs["gone"].only_in == "before_cmp_src"
