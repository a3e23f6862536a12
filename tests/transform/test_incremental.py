"""Incremental dbt builds give exactly the tables a full build gives, and rewrite only what changed.

The default simulated trial arrives one delivery at a time (each followed by a build, as the
nightly does), then planted deliveries exercise the lab paths by hand:
- a corrected pre-dose (baseline) result: the subject is re-based, every later result of that
  test gets the new BASE and CHG;
- a new post-baseline result of another subject: it takes its group's stored baseline and no
  other row of that subject is rewritten;
- a result re-sent in an unknown unit: it leaves fct_lab_results;
- a first dose date moved a day earlier by a late EX record: the subject's every lab record
  gets its new ADY and the baseline moves back to screening, with no lab record sent (the
  scope compares today's TRTSDT with int_lab_results__first_dose_history as of the marts
  watermark); with that history emptied, every subject EX touched is re-based.
After each step the tables are compared with a full refresh of the same data.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest

from cfz_platform.ingest import run_ingest
from cfz_platform.transform.dbt_runner import seed_only_tests
from tests.conftest import run_cfz

pytestmark = pytest.mark.slow

STAGING_TABLES = (
    "stg_sdtm__dm",
    "stg_sdtm__lb",
    "stg_sdtm__ex",
    "stg_sdtm__cm",
    "stg_sdtm__ae",
    "stg_sdtm__rs",
    "stg_sdtm__vs",
)


def _snapshot(db) -> dict[str, tuple]:
    """Row count and an order-independent digest of every staging model, mart table and ADaM
    dataset."""
    tables = [f"staging.{t}" for t in STAGING_TABLES]
    tables += [
        f"{r[0]}.{r[1]}"
        for r in db.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'adam') and table_type = 'BASE TABLE' order by 1, 2"
        )
    ]
    return {
        t: db.execute(
            f"select count(*), md5(coalesce(string_agg(md5(x::text), '' order by md5(x::text)), '')) from {t} x"
        ).fetchone()
        for t in tables
    }


def _build(**kwargs):
    from cfz_platform.transform.build import build_marts

    result = build_marts("marts", unit_tests=False, **kwargs)
    assert result.success, result.failures
    return result


def _assert_same_as_full_build(db) -> None:
    incremental = _snapshot(db)
    _build(full_refresh=True)
    full = _snapshot(db)
    differing = [t for t in full if incremental.get(t) != full[t]]
    assert not differing, differing


def _deliver_rows(landing: Path, delivery: str, domain: str, rows: list[dict]) -> None:
    """A new delivery folder with one domain file (columns: the raw columns of ``rows``,
    lineage left out), ingested."""
    columns = [c for c in rows[0] if not c.startswith("_")]
    folder = landing / delivery
    folder.mkdir()
    with open(folder / f"{domain}.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([c.upper() for c in columns])
        for r in rows:
            w.writerow([r[c] or "" for c in columns])
    run_ingest(landing)


@pytest.fixture(scope="module")
def trial(warehouse_db, tmp_path_factory):
    """Simulated deliveries, linked one by one into a landing root that grows like a real one."""
    out = tmp_path_factory.mktemp("sim")
    run_cfz("simulate", "--out", str(out / "all"), "--truth", str(out / "truth"))
    deliveries = sorted(p for p in (out / "all").iterdir() if p.is_dir())
    landing = out / "landing"
    landing.mkdir()
    return deliveries, landing


def _deliver(landing: Path, delivery: Path) -> None:
    # hard links, not a symbolic link: the ingestion quarantines links unread (feeds.md)
    shutil.copytree(delivery, landing / delivery.name, copy_function=os.link)
    run_ingest(landing)


def test_delivery_by_delivery_equals_full_build(trial, db):
    from cfz_platform.transform import build_state

    deliveries, landing = trial
    for d in deliveries[:-1]:
        _deliver(landing, d)
    first = _build()
    _deliver(landing, deliveries[-1])
    with db.transaction():
        plan = build_state.plan_build(db, "marts", build_state.compute_project_fingerprint())
    assert (
        not plan.full_refresh
        and plan.staging_since is not None
        and plan.marts_since == plan.staging_since
    )
    result = _build()
    # the new delivery is a small part of the lab history: the incremental run wrote only that part
    lab = next(r for r in result.results if r.node.name == "stg_sdtm__lb")
    total = db.execute("select count(*) from staging.stg_sdtm__lb").fetchone()[0]
    assert 0 < lab.adapter_response.get("rows_affected") < total / 2
    # the tests on seeds alone ran with the full build that loaded the seeds, not again
    seed_tests = set(seed_only_tests())
    assert len(seed_tests) > 10 and seed_tests <= _tests_run(first)
    assert _tests_run(result) and not seed_tests & _tests_run(result)
    assert "no_day_zero_fct_lab_results_ady" in _tests_run(result)
    _assert_rebuild_with_nothing_new_keeps_incremental_statistics(db)
    _assert_same_as_full_build(db)


def _last_analyze(db, tables: tuple[str, ...]) -> dict:
    return {
        t: db.execute(
            "select last_analyze from pg_stat_user_tables where relid = %s::regclass", (t,)
        ).fetchone()[0]
        for t in tables
    }


def _assert_rebuild_with_nothing_new_keeps_incremental_statistics(db) -> None:
    """A build with nothing new derives no subject again: the incremental tables keep the
    planner statistics of their last analyse (macros/analyze.sql), while every table model,
    built anew, is analysed (the full build after it then checks the tables are unchanged)."""
    incremental = ("staging.stg_sdtm__lb", "marts.fct_lab_results", "adam.adlb", "adam.adex")
    rebuilt = ("marts.dim_subject", "adam.adsl", "adam.advs")
    before = _last_analyze(db, incremental)
    (started,) = db.execute("select now()").fetchone()
    _build()
    assert db.execute("select count(*) from staging.build_rederive_subjects").fetchone()[0] == 0
    assert _last_analyze(db, incremental) == before
    assert all(when is not None for when in before.values())
    assert all(when > started for when in _last_analyze(db, rebuilt).values())


def _tests_run(result) -> set[str]:
    return {r.node.name for r in result.results if r.node.resource_type == "test"}


def _fct(db, usubjid: str, lbtestcd: str) -> list[tuple]:
    return db.execute(
        "select lbdtc, aval, base, chg, ablfl, xmin::text from marts.fct_lab_results "
        "where usubjid = %s and lbtestcd = %s order by lbdt",
        (usubjid, lbtestcd),
    ).fetchall()


def _first_row(cur) -> dict:
    return dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))


def _raw_current(db, usubjid: str, lbtestcd: str, lbdtc: str) -> dict:
    return _first_row(
        db.execute(
            "select * from raw.lb where btrim(usubjid) = %s and upper(btrim(lbtestcd)) = %s and btrim(lbdtc) = %s "
            "order by _delivery_id desc, _file_id desc, _line desc limit 1",
            (usubjid, lbtestcd, lbdtc),
        )
    )


def test_corrected_baseline_rebases_the_subject(trial, db):
    # a subject with a serum albumin baseline and later results
    usubjid, base_dtc = db.execute(
        "select usubjid, lbdtc from marts.fct_lab_results f where ablfl = 'Y' and lbtestcd = 'ALB' "
        "and (select count(*) from marts.fct_lab_results g where g.usubjid = f.usubjid and g.lbtestcd = 'ALB') >= 4 "
        "order by usubjid limit 1"
    ).fetchone()
    old_base = next(r[1] for r in _fct(db, usubjid, "ALB") if r[4] == "Y")
    row = _raw_current(db, usubjid, "ALB", base_dtc)
    new_value = round(float(row["lborres"]) * 1.2, 3)
    _, landing = trial
    _deliver_rows(landing, "20260101T020000", "lb", [{**row, "lborres": str(new_value)}])
    _build()
    rows = _fct(db, usubjid, "ALB")
    baseline = [r for r in rows if r[4] == "Y"]
    assert len(baseline) == 1 and baseline[0][0] == base_dtc
    assert float(baseline[0][1]) == pytest.approx(float(old_base) * 1.2, rel=1e-3)
    for _, aval, base, chg, _, _ in rows:
        assert base == baseline[0][1]
        assert chg == aval - base
    _assert_same_as_full_build(db)


def test_new_post_baseline_result_takes_the_stored_baseline(trial, db):
    # another subject's creatinine: its latest result, re-dated a week later, is a new record
    usubjid, last_dtc = db.execute(
        "select usubjid, max(lbdtc) from marts.fct_lab_results where lbtestcd = 'CREAT' and base is not null "
        "and usubjid <> (select min(usubjid) from marts.fct_lab_results where ablfl = 'Y' and lbtestcd = 'ALB') "
        "group by usubjid order by usubjid limit 1"
    ).fetchone()
    before = {r[0]: r for r in _fct(db, usubjid, "CREAT")}
    row = _raw_current(db, usubjid, "CREAT", last_dtc)
    from datetime import date, timedelta

    new_dtc = (date.fromisoformat(last_dtc[:10]) + timedelta(days=7)).isoformat()
    _, landing = trial
    _deliver_rows(landing, "20260102T020000", "lb", [{**row, "lbdtc": new_dtc}])
    result = _build()
    after = {r[0]: r for r in _fct(db, usubjid, "CREAT")}
    assert set(after) == set(before) | {new_dtc}
    new = after[new_dtc]
    stored_base = next(iter(before.values()))[2]
    assert new[2] == stored_base and new[3] == new[1] - stored_base
    # no other row of the subject was rewritten (same row version)
    assert all(after[k][5] == before[k][5] for k in before)
    fct = next(r for r in result.results if r.node.name == "fct_lab_results")
    assert fct.adapter_response.get("rows_affected") == 1
    _assert_same_as_full_build(db)


def test_result_resent_in_unknown_unit_leaves_the_mart(trial, db):
    usubjid, lbdtc = db.execute(
        "select usubjid, lbdtc from marts.fct_lab_results where lbtestcd = 'HGB' and ablfl is null "
        "order by usubjid desc, lbdtc limit 1"
    ).fetchone()
    row = _raw_current(db, usubjid, "HGB", lbdtc)
    _, landing = trial
    _deliver_rows(
        landing,
        "20260103T020000",
        "lb",
        [{**row, "lborresu": "furlongs", "lbstresn": "", "lbstresu": ""}],
    )
    _build()
    assert not _fct(db, usubjid, "HGB") or lbdtc not in {r[0] for r in _fct(db, usubjid, "HGB")}
    issue = db.execute(
        "select issue from staging.stg_sdtm__lb where usubjid = %s and lbtestcd = 'HGB' and lbdtc = %s",
        (usubjid, lbdtc),
    ).fetchone()[0]
    assert "unknown unit" in issue
    _assert_same_as_full_build(db)


def test_late_delivery_of_an_older_version_does_not_replace_the_staged_one(trial, db):
    usubjid, lbdtc, aval = db.execute(
        "select usubjid, lbdtc, aval from marts.fct_lab_results where lbtestcd = 'PLAT' and ablfl is null "
        "order by usubjid, lbdtc limit 1"
    ).fetchone()
    row = _raw_current(db, usubjid, "PLAT", lbdtc)
    _, landing = trial
    # a delivery dated before every other one arrives now, with another value for that result
    _deliver_rows(
        landing, "20000101T020000", "lb", [{**row, "lborres": str(float(row["lborres"]) + 50)}]
    )
    _build()
    assert (
        db.execute(
            "select aval from marts.fct_lab_results where usubjid = %s and lbtestcd = 'PLAT' "
            "and lbdtc = %s",
            (usubjid, lbdtc),
        ).fetchone()[0]
        == aval
    )
    _assert_same_as_full_build(db)


def test_results_waiting_for_dm_come_in_when_the_subject_arrives(trial, db):
    template = db.execute(
        "select usubjid from marts.fct_lab_results where lbtestcd = 'HGB' order by usubjid limit 1"
    ).fetchone()[0]
    lab = _raw_current(
        db,
        template,
        "HGB",
        db.execute(
            "select min(lbdtc) from marts.fct_lab_results where usubjid = %s and lbtestcd = 'HGB'",
            (template,),
        ).fetchone()[0],
    )
    newcomer = "CFZ-MM-01-999-9999"
    _, landing = trial
    _deliver_rows(landing, "20260201T020000", "lb", [{**lab, "usubjid": newcomer}])
    _build()
    assert (
        db.execute("select issue from staging.stg_sdtm__lb where usubjid = %s", (newcomer,))
        .fetchone()[0]
        .startswith("subject not in DM")
    )
    assert not db.execute(
        "select 1 from marts.fct_lab_results where usubjid = %s", (newcomer,)
    ).fetchall()
    dm = _first_row(
        db.execute(
            "select * from raw.dm where btrim(usubjid) = %s order by _delivery_id desc limit 1",
            (template,),
        )
    )
    _deliver_rows(landing, "20260202T020000", "dm", [{**dm, "usubjid": newcomer}])
    _build()
    assert (
        db.execute(
            "select count(*) from marts.fct_lab_results where usubjid = %s", (newcomer,)
        ).fetchone()[0]
        == 1
    )
    _assert_same_as_full_build(db)


#: The subject (alias r, with its trtsdt) has a carfilzomib record on its first dose day.
DOSED_ON_TRTSDT = (
    "exists (select 1 from raw.ex x where btrim(x.usubjid) = r.usubjid "
    "and upper(btrim(x.extrt)) = 'CARFILZOMIB' and btrim(x.exstdtc) like r.trtsdt::text || '%%')"
)


def _first_dose_row(db, usubjid: str, trtsdt) -> dict:
    """The subject's current raw EX record of carfilzomib on its first dose day."""
    return _first_row(
        db.execute(
            "select * from raw.ex where btrim(usubjid) = %s and upper(btrim(extrt)) = 'CARFILZOMIB' "
            "and btrim(exstdtc) like %s order by _delivery_id desc, _file_id desc limit 1",
            (usubjid, trtsdt.isoformat() + "%"),
        )
    )


def _rebased(db) -> set[str]:
    """The subjects the last incremental build re-derived whole."""
    return {
        r[0]
        for r in db.execute(
            "select distinct usubjid from staging.int_lab_results__rederive_scope where is_rebased"
        )
    }


def test_moved_first_dose_rebases_the_subjects_labs(trial, db):
    """A carfilzomib dose reported late, dated the day before the first dose: TRTSDT moves a
    day earlier, no lab record changes. Every lab record of the subject gets its new ADY, and
    the C1D1 pre-dose results (now after the first dose) give the baseline back to screening.
    Another subject's first dose re-sent unchanged in the same delivery moves nothing: its
    date is the one int_lab_results__first_dose_history recorded, so it is not re-based."""
    from datetime import timedelta

    # a subject whose baseline of some test is on the first dose day, with an earlier
    # (screening) result of that test
    usubjid, lbtestcd, trtsdt = db.execute(
        "select f.usubjid, f.lbtestcd, r.trtsdt from marts.fct_lab_results f "
        "join staging.int_subject__reference_dates r using (usubjid) "
        "where f.ablfl = 'Y' and f.lbdt = r.trtsdt and exists (select 1 from marts.fct_lab_results g "
        "where g.usubjid = f.usubjid and g.lbtestcd = f.lbtestcd and g.lbspec = f.lbspec "
        f"and g.lbdt < r.trtsdt - 1) and {DOSED_ON_TRTSDT} order by f.usubjid, f.lbtestcd limit 1"
    ).fetchone()
    first_dose = _first_dose_row(db, usubjid, trtsdt)
    other, other_trtsdt = db.execute(
        "select usubjid, trtsdt from staging.int_subject__reference_dates r where usubjid > %s "
        "and exists (select 1 from marts.fct_lab_results f where f.usubjid = r.usubjid) "
        f"and {DOSED_ON_TRTSDT} order by usubjid limit 1",
        (usubjid,),
    ).fetchone()
    resent = _first_dose_row(db, other, other_trtsdt)
    new_trtsdt = trtsdt - timedelta(days=1)
    _, landing = trial
    _deliver_rows(
        landing,
        "20260203T020000",
        "ex",
        [
            {**first_dose, "exstdtc": new_trtsdt.isoformat(), "exendtc": new_trtsdt.isoformat()},
            {**resent, "exendtc": resent.get("exendtc") or ""},
        ],
    )
    _build()
    assert (
        db.execute(
            "select trtsdt from staging.int_subject__reference_dates where usubjid = %s",
            (usubjid,),
        ).fetchone()[0]
        == new_trtsdt
    )
    rows = db.execute(
        "select lbtestcd, lbspec, lbdt, ady, ablfl from marts.fct_lab_results where usubjid = %s",
        (usubjid,),
    ).fetchall()
    assert rows
    for _, _, lbdt, ady, _ in rows:
        assert ady == (lbdt - new_trtsdt).days + (1 if lbdt >= new_trtsdt else 0)
    baselines = [r for r in rows if r[4] == "Y"]
    assert baselines and all(r[2] <= new_trtsdt for r in baselines)
    assert any(r[0] == lbtestcd and r[2] < trtsdt for r in baselines)
    assert usubjid in _rebased(db) and other not in _rebased(db)
    _assert_same_as_full_build(db)


def test_first_dose_history_started_after_the_marts_build_rebases_every_touched_subject(trial, db):
    """Cold history (as after a full refresh that the other buffer did not see): nothing was
    recorded as of the marts schema's watermark, so a subject EX sent a row for is re-based
    even though its first dose date did not move (the safe side), with the same result."""
    db.execute("truncate staging.int_lab_results__first_dose_history")
    usubjid, trtsdt = db.execute(
        "select usubjid, trtsdt from staging.int_subject__reference_dates r "
        "where exists (select 1 from marts.fct_lab_results f where f.usubjid = r.usubjid) "
        f"and {DOSED_ON_TRTSDT} order by usubjid desc limit 1"
    ).fetchone()
    row = _first_dose_row(db, usubjid, trtsdt)
    _, landing = trial
    _deliver_rows(landing, "20260204T020000", "ex", [row])
    _build()
    assert usubjid in _rebased(db)
    # the history holds every subject again, as of this build
    assert db.execute(
        "select count(distinct usubjid) = (select count(*) from staging.int_subject__reference_dates) "
        "from staging.int_lab_results__first_dose_history"
    ).fetchone()[0]
    _assert_same_as_full_build(db)


def test_a_changed_model_or_seed_forces_a_full_refresh(trial, db):
    from cfz_platform.transform import build_state

    with db.transaction():
        same = build_state.plan_build(db, "marts", build_state.compute_project_fingerprint())
        changed = build_state.plan_build(db, "marts", "another-fingerprint")
    assert not same.full_refresh
    assert changed.full_refresh and "changed" in changed.reason


def test_publish_carries_the_incremental_state_with_the_schemas(trial, db):
    """Cold candidate: a copy of marts' incremental tables (and adam's: the ADaM schema was
    recorded with the marts) and their state; after publish the state follows the schemas;
    the next candidates are marts_previous and adam_previous, with their own state."""
    from cfz_platform.transform import build_state, publish

    marts_state = build_state.read_state(db, "marts")
    assert build_state.read_state(db, "adam") == marts_state
    n_labs = db.execute("select count(*) from marts.fct_lab_results").fetchone()[0]
    n_adlb = db.execute("select count(*) from adam.adlb").fetchone()[0]
    with db.transaction():
        for schema in ("marts_previous", "adam_previous"):
            db.execute(f"drop schema if exists {schema} cascade")
            db.execute("delete from audit.build_state where schema_name = %s", (schema,))
    publish.prepare_candidate(db)
    assert (
        db.execute("select count(*) from marts_candidate.fct_lab_results").fetchone()[0] == n_labs
    )
    assert db.execute("select count(*) from adam_candidate.adlb").fetchone()[0] == n_adlb
    assert build_state.read_state(db, "marts_candidate") == marts_state
    assert build_state.read_state(db, "adam_candidate") == marts_state
    publish.publish_candidate(db)
    for schema in ("marts", "marts_previous", "adam", "adam_previous"):
        assert build_state.read_state(db, schema) == marts_state, schema
    assert build_state.read_state(db, "marts_candidate") is None
    assert build_state.read_state(db, "adam_candidate") is None
    publish.prepare_candidate(db)
    assert build_state.read_state(db, "marts_candidate") == marts_state
    assert build_state.read_state(db, "adam_candidate") == marts_state
    assert db.execute("select count(*) from adam_candidate.adlb").fetchone()[0] == n_adlb
    assert build_state.read_state(db, "marts_previous") is None
    assert build_state.read_state(db, "adam_previous") is None
    publish.discard_candidate(db)
    assert build_state.read_state(db, "marts_candidate") is None
    assert build_state.read_state(db, "adam_candidate") is None


def test_an_adam_schema_of_another_build_is_not_reused(trial, db):
    """adam_previous whose recorded build is not marts_previous' (a publish without an ADaM
    candidate) does not become the ADaM candidate: its datasets are built whole."""
    from cfz_platform.transform import build_state, publish

    publish.prepare_candidate(db)
    publish.publish_candidate(db)
    with db.transaction():
        db.execute(
            "update audit.build_state set through_file_id = through_file_id - 1 "
            "where schema_name = 'adam_previous'"
        )
    publish.prepare_candidate(db)
    assert build_state.read_state(db, "marts_candidate") is not None
    assert db.execute("select to_regclass('adam_candidate.adlb')").fetchone()[0] is None
    assert build_state.read_state(db, "adam_candidate") is None
    publish.discard_candidate(db)
