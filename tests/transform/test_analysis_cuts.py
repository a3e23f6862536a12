"""Frozen analysis cuts through the front door (`cfz cut create / list / verify`, `cfz export
adam --cut`), on a small clean trial (domain.md "Analysis data cuts").

1. the trial's deliveries are ingested and transformed; a cutoff is chosen one day after the
   start of an AE that ends days later, and cut ``interim`` is made through the last delivery;
2. the cut leaves out every record dated after the cutoff, shows that AE as ongoing, gives
   ADSL.DCUTDT = the cutoff (null in the live adam), censors no time-to-event after the
   cutoff, and its schemas are readable by ``bi_reader``; making it again is one error line;
3. a later delivery corrects a lab result dated before the cutoff and adds one dated after
   it; the live marts show both;
4. a cut with the same cutoff through the same delivery, made after the correction, gives
   XPTs with the same md5 as the first; ``cfz cut verify interim`` rebuilds it to the same
   bytes; the first cut's tables did not change; ``cfz export adam --cut`` writes the bytes
   ``cfz cut list`` shows.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json

import psycopg
import pytest

from cfz_platform.db import warehouse
from tests.conftest import run_cfz, simulate_clean_trial

pytestmark = pytest.mark.slow


def _md5_of_table(conn: psycopg.Connection, table: str) -> str:
    """md5 of a table's rows in a fixed order (to see that it did not change)."""
    return conn.execute(
        f"select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {table} t"
    ).fetchone()[0]


@pytest.fixture(scope="module")
def trial(warehouse_db, tmp_path_factory):
    """The small trial, ingested and transformed; the run helper with its own GX folder."""
    out = tmp_path_factory.mktemp("cut-trial")
    landing = simulate_clean_trial(out, patients=6, deliveries=2)
    env = {"CFZ_GX_PROJECT_DIR": str(tmp_path_factory.mktemp("gx"))}

    def run(*args: str, check: bool = True):
        return run_cfz(*args, env=env, check=check)

    run("ingest", "--landing", str(landing))
    run("transform")
    return landing, run


@pytest.fixture(scope="module")
def conn(trial):
    with warehouse.connect(autocommit=True) as c:
        yield c


@pytest.fixture(scope="module")
def chosen(conn):
    """The cutoff (one day after the start of an AE lasting at least 3 days, the first one in
    the second half of the trial's lab dates, so assessments and time-to-event lie on both
    sides of it) and that AE's key."""
    row = conn.execute(
        "with span as (select min(lbdt) + (max(lbdt) - min(lbdt)) / 2 as mid "
        "from marts.fct_lab_results) "
        "select usubjid, aespid, aestdt from marts.fct_adverse_events, span "
        "where aeendt >= aestdt + 3 order by aestdt < mid, aestdt, usubjid, aespid limit 1"
    ).fetchone()
    assert row, "the small trial has no AE lasting 3 days"
    usubjid, aespid, aestdt = row
    return {"cutoff": aestdt + dt.timedelta(days=1), "usubjid": usubjid, "aespid": aespid}


@pytest.fixture(scope="module")
def first_cut(trial, conn, chosen):
    landing, run = trial
    deliveries = sorted(p.name for p in landing.iterdir() if p.is_dir())
    proc = run("cut", "create", "interim", "--cutoff", chosen["cutoff"].isoformat())
    return {"last_delivery": deliveries[-1], "stdout": proc.stdout}


def test_cut_leaves_out_records_after_cutoff(conn, chosen, first_cut):
    cutoff = chosen["cutoff"]
    live_after = conn.execute(
        "select count(*) from marts.fct_lab_results where lbdt > %s", (cutoff,)
    ).fetchone()[0]
    assert live_after > 0, "the live marts hold labs after the cutoff (else the test says nothing)"
    assert conn.execute("select max(lbdt) from cut_interim.fct_lab_results").fetchone()[0] <= cutoff
    assert conn.execute("select count(*) from cut_interim.fct_lab_results").fetchone()[0] > 0
    assert (
        conn.execute("select max(aestdt) from cut_interim.fct_adverse_events").fetchone()[0]
        <= cutoff
    )
    n_tte, latest = conn.execute(
        "select count(*), max(adt) from cut_interim_adam.adtte where paramcd = 'OS'"
    ).fetchone()
    assert n_tte > 0 and latest <= cutoff, "every OS time ends (event or censoring) by the cutoff"
    live_latest = conn.execute("select max(adt) from adam.adtte where paramcd = 'OS'").fetchone()[0]
    assert live_latest > cutoff
    assert conn.execute("select max(lstalvdt) from cut_interim_adam.adsl").fetchone()[0] <= cutoff


def test_ae_ongoing_at_cutoff_is_ongoing_in_the_cut(conn, chosen, first_cut):
    key = (chosen["usubjid"], chosen["aespid"])
    live_end = conn.execute(
        "select aeendt from marts.fct_adverse_events where usubjid = %s and aespid = %s", key
    ).fetchone()[0]
    assert live_end > chosen["cutoff"]
    cut_end = conn.execute(
        "select aeendt from cut_interim.fct_adverse_events where usubjid = %s and aespid = %s",
        key,
    ).fetchone()
    assert cut_end == (None,), "the AE is in the cut, with no end date (ongoing)"


def test_adsl_dcutdt_is_the_cutoff_in_the_cut_only(conn, chosen, first_cut):
    assert conn.execute("select distinct dcutdt from cut_interim_adam.adsl").fetchall() == [
        (chosen["cutoff"],)
    ]
    assert conn.execute("select distinct dcutdt from adam.adsl").fetchall() == [(None,)]


def test_cut_is_readable_by_bi_reader_and_recorded(conn, first_cut, chosen):
    for schema in ("cut_interim", "cut_interim_adam"):
        assert conn.execute(
            "select has_schema_privilege('bi_reader', %s, 'usage')", (schema,)
        ).fetchone()[0]
    assert conn.execute(
        "select has_table_privilege('bi_reader', 'cut_interim_adam.adsl', 'select')"
    ).fetchone()[0]
    cutoff, delivery, datasets = conn.execute(
        "select cutoff, through_delivery, datasets from audit.analysis_cuts where name = 'interim'"
    ).fetchone()
    assert (cutoff, delivery) == (chosen["cutoff"], first_cut["last_delivery"])
    assert datasets["adsl"]["records"] > 0 and len(datasets["adsl"]["md5"]) == 32
    for schema in ("cut_build_marts", "cut_build_marts_adam", "cut_build_staging"):
        assert conn.execute(
            "select count(*) from pg_namespace where nspname = %s", (schema,)
        ).fetchone() == (0,)


def test_an_existing_cut_is_never_remade(trial, first_cut):
    _, run = trial
    proc = run("cut", "create", "interim", "--cutoff", "2020-01-01", check=False)
    assert proc.returncode == 1
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: cut 'interim' exists already"), lines


@pytest.fixture(scope="module")
def corrected(trial, conn, chosen, first_cut):
    """A later delivery: one lab result dated before the cutoff corrected, one dated after
    it added; ingested and transformed. Returns the keys and the first cut's table md5s
    taken before it."""
    landing, run = trial
    before = {
        t: _md5_of_table(conn, t)
        for t in ("cut_interim.fct_lab_results", "cut_interim_adam.adsl", "cut_interim_adam.adlb")
    }
    cutoff = chosen["cutoff"]
    rows = []
    for source in sorted(landing.glob("*/lb.csv")):
        with open(source, newline="") as fh:
            rows += list(csv.DictReader(fh))
    lab = next(
        r
        for r in rows
        if r["LBTESTCD"] == "ALB"
        and r["LBDTC"][:10] <= cutoff.isoformat()
        and r["LBORRES"].replace(".", "", 1).isdigit()
    )
    corrected_value = f"{float(lab['LBORRES']) * 1.1:.2f}"
    later = dict(lab, LBDTC=(cutoff + dt.timedelta(days=3)).isoformat())
    fix = dict(lab, LBORRES=corrected_value)
    delivery = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)).strftime("%Y%m%dT%H%M%S")
    folder = landing / delivery
    folder.mkdir()
    with open(folder / "lb.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows([fix, later])
    run("ingest", "--landing", str(landing))
    run("transform")
    return {"lab": lab, "value": corrected_value, "later": later, "before": before}


def test_live_marts_show_the_correction(conn, corrected):
    lab, later = corrected["lab"], corrected["later"]
    live = conn.execute(
        "select lborres from staging.stg_sdtm__lb where usubjid = %s and lbtestcd = 'ALB' "
        "and lbdtc = %s",
        (lab["USUBJID"], lab["LBDTC"]),
    ).fetchall()
    assert live == [(corrected["value"],)]
    assert conn.execute(
        "select count(*) from marts.fct_lab_results where usubjid = %s and lbtestcd = 'ALB' "
        "and lbdt = %s",
        (later["USUBJID"], dt.date.fromisoformat(later["LBDTC"][:10])),
    ).fetchone() == (1,)


def test_rebuilt_cut_gives_the_same_xpt_bytes(
    trial, conn, chosen, first_cut, corrected, tmp_path, capsys
):
    _, run = trial
    run(
        "cut",
        "create",
        "interim_again",
        "--cutoff",
        chosen["cutoff"].isoformat(),
        "--through-delivery",
        first_cut["last_delivery"],
    )
    recorded = dict(conn.execute("select name, datasets from audit.analysis_cuts").fetchall())
    with capsys.disabled():
        print("\nXPT md5: cut interim, then interim_again (same cutoff and delivery, made after")
        print("a later delivery corrected a pre-cutoff lab and added a post-cutoff one)")
        for name, d in sorted(recorded["interim"].items()):
            again = recorded["interim_again"][name]
            print(f"  {name:5} {d['records']:>5} {d['md5']}  {again['records']:>5} {again['md5']}")
    assert recorded["interim_again"] == recorded["interim"], json.dumps(recorded, indent=1)
    assert any(d["md5"] for d in recorded["interim"].values())
    # the cut itself never changed
    for table, md5 in corrected["before"].items():
        assert _md5_of_table(conn, table) == md5, table
    # the correction is live, not in either cut
    for schema in ("cut_interim", "cut_interim_again"):
        assert conn.execute(
            f"select count(*) from {schema}.fct_lab_results where lbdt > %s",
            (chosen["cutoff"],),
        ).fetchone() == (0,)
    # the pre-cutoff correction is live, but not in the cut through the earlier delivery
    lab = corrected["lab"]
    key = (lab["USUBJID"], dt.date.fromisoformat(lab["LBDTC"][:10]))
    live, cut = (
        conn.execute(
            f"select aval from {schema}.fct_lab_results where usubjid = %s "
            "and lbtestcd = 'ALB' and lbdt = %s",
            key,
        ).fetchone()
        for schema in ("marts", "cut_interim_again")
    )
    assert live != cut
    # cfz cut verify rebuilds it from the raw history
    proc = run("cut", "verify", "interim")
    assert "every XPT has its recorded md5" in proc.stdout
    # the export of the cut writes the recorded bytes
    out = tmp_path / "xpt"
    run("export", "adam", "--cut", "interim", "--out", str(out))
    for name, d in recorded["interim"].items():
        if d["md5"]:
            assert hashlib.md5((out / f"{name}.xpt").read_bytes()).hexdigest() == d["md5"]
    listing = run("cut", "list").stdout
    assert "interim: cutoff " + chosen["cutoff"].isoformat() in listing
    assert recorded["interim"]["adsl"]["md5"] in listing


def test_cut_name_is_checked(trial):
    _, run = trial
    proc = run("cut", "create", "Bad-Name", "--cutoff", "2026-01-01", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: cut name 'Bad-Name' is not allowed")
