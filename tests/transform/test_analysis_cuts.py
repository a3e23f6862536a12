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
5. the model and the report (issue 27 item 4): a champion of the early-response model is
   trained (on a hand-written cohort, the real MLflow store) before ``interim`` is made, so
   the cut holds its scores for its response-evaluable subjects and the validation rows;
   ``cfz cut create`` wrote the cut's report, whose numbers come from the cut (the
   endpoints differ from the live report's) and which ``cfz report --cut`` writes again
   with the same clinical sections after the correction, a retraining and a live
   re-scoring, which leave the cut's scores unchanged; ``interim_again``, made with no
   champion, has no scores and ``cfz cut list`` says so.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import json
import re

import psycopg
import pytest

from cfz_platform.db import warehouse
from cfz_platform.ml import tracking
from cfz_platform.ml.scoring import TABLE_COMMENT
from cfz_platform.ml.spec import load_spec
from tests.conftest import run_cfz, simulate_clean_trial
from tests.ml.test_training_registry import _cohort, _write_features
from tests.report.html_parse import parse_report

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
    env = {
        "CFZ_GX_PROJECT_DIR": str(tmp_path_factory.mktemp("gx")),
        "CFZ_MLFLOW_ARTIFACTS": str(tmp_path_factory.mktemp("mlartifacts")),
    }
    mp = pytest.MonkeyPatch()
    mp.setenv("CFZ_MLFLOW_ARTIFACTS", env["CFZ_MLFLOW_ARTIFACTS"])

    def run(*args: str, check: bool = True):
        return run_cfz(*args, env=env, check=check)

    run("ingest", "--landing", str(landing))
    run("transform")
    yield landing, run
    mp.undo()


def _train_on_cohort(conn: psycopg.Connection, seed: int) -> None:
    """Train the early-response model (fast CV) on a hand-written cohort put in place of the
    live feature mart, then put the live mart back: the trial's 6 subjects are too few to
    train on, and the cut must be scored by a real registered champion."""
    from cfz_platform.ml.train import train_early_response

    spec = load_spec()
    spec = dataclasses.replace(spec, cv={**spec.cv, "n_repeats": 2, "bootstrap": 100})
    conn.execute("alter table marts.fct_ml_features rename to fct_ml_features_live")
    try:
        _write_features(conn, _cohort(seed))
        train_early_response(spec)
    finally:
        conn.execute("drop table if exists marts.fct_ml_features")
        conn.execute("alter table marts.fct_ml_features_live rename to fct_ml_features")


@pytest.fixture(scope="module")
def champion(trial, conn):
    """The champion version trained before the first cut."""
    _train_on_cohort(conn, seed=1)
    client = tracking.configure()
    return str(tracking.current_champion(client, load_spec().registered_model).version)


def _clinical_sections(parsed) -> dict[str, str]:
    """Each section's text but data quality (read live) and the model's score time."""
    return {
        sid: re.sub(r"on \d{4}-\d{2}-\d{2} \d{2}:\d{2}", "", s.text)
        for sid, s in parsed.sections.items()
        if sid != "data-quality"
    }


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
def first_cut(trial, conn, chosen, champion, tmp_path_factory):
    landing, run = trial
    deliveries = sorted(p.name for p in landing.iterdir() if p.is_dir())
    report = tmp_path_factory.mktemp("cut-report")
    proc = run(
        "cut",
        "create",
        "interim",
        "--cutoff",
        chosen["cutoff"].isoformat(),
        "--report-out",
        str(report),
    )
    live = tmp_path_factory.mktemp("live-report")
    run("report", "--out", str(live))
    return {
        "last_delivery": deliveries[-1],
        "stdout": proc.stdout,
        "report": report / "index.html",
        "live_report": live / "index.html",
        "scores_md5": _md5_of_table(conn, "cut_interim.early_response_predictions"),
    }


def test_cut_holds_the_champion_scores_of_its_evaluable_subjects(conn, first_cut, champion):
    scored = conn.execute(
        "select usubjid, model_version from cut_interim.early_response_predictions order by usubjid"
    ).fetchall()
    evaluable = conn.execute(
        "select usubjid from cut_interim.dim_subject where respevalfl order by usubjid"
    ).fetchall()
    features = conn.execute(
        "select usubjid from cut_interim.fct_ml_features order by usubjid"
    ).fetchall()
    assert scored and [u for u, _ in scored] == [u for (u,) in features]
    assert {u for u, _ in scored} <= {u for (u,) in evaluable}
    assert {v for _, v in scored} == {champion}
    assert conn.execute(
        "select model_version from audit.analysis_cuts where name = 'interim'"
    ).fetchone() == (champion,)
    assert conn.execute(
        "select model_version from cut_interim.early_response_validation"
    ).fetchall() == [(champion,)]
    privilege, comment = conn.execute(
        "select has_table_privilege('bi_reader', 'cut_interim.early_response_predictions', "
        "'select'), obj_description('cut_interim.early_response_predictions'::regclass)"
    ).fetchone()
    assert privilege and comment == TABLE_COMMENT
    assert f"model scores: early-response model version {champion}" in first_cut["stdout"]


def test_cut_report_names_the_cut_and_shows_its_numbers(conn, chosen, first_cut):
    html = first_cut["report"].read_text()
    assert 'id="analysis-cut" data-cut="interim"' in html
    assert f"clinical cutoff {chosen['cutoff'].isoformat()}" in html
    assert f"deliveries through {first_cut['last_delivery']}" in html
    cut, live = parse_report(html), parse_report(first_cut["live_report"].read_text())
    assert "Source: cut_interim.rpt_study_endpoints" in cut.sections["endpoints"].text
    model = cut.sections["model"]
    assert model.status == "ok" and "cut_interim.early_response_predictions" in model.text
    assert not re.search(r"(?<![\w.])(ml|marts)\.\w", model.text), model.text
    assert "read live" in cut.sections["data-quality"].text
    for parsed in (cut, live):
        assert parsed.sections["endpoints"].status == "ok"
    differ = [
        sid
        for sid in ("consort", "endpoints", "km", "adverse-events", "lab-shift")
        if cut.sections[sid].text.replace("cut_interim.", "marts.") != live.sections[sid].text
    ]
    assert "endpoints" in differ, differ


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
    client = tracking.configure()
    client.delete_registered_model_alias(load_spec().registered_model, tracking.CHAMPION)
    run(
        "cut",
        "create",
        "interim_again",
        "--cutoff",
        chosen["cutoff"].isoformat(),
        "--through-delivery",
        first_cut["last_delivery"],
        "--report-out",
        str(tmp_path / "again-report"),
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
    # made with no champion: no scores, and the cut says so
    assert conn.execute(
        "select model_version from audit.analysis_cuts where name = 'interim_again'"
    ).fetchone() == (None,)
    assert conn.execute(
        "select to_regclass('cut_interim_again.early_response_predictions')"
    ).fetchone() == (None,)
    again = listing.split("interim_again: cutoff", 1)[1]
    assert "model scores: none (no champion early-response model" in again


def test_cut_scores_and_report_survive_retraining_and_rescoring(
    trial, conn, first_cut, corrected, champion, tmp_path
):
    from cfz_platform.ml.scoring import score_with_champion

    _, run = trial
    _train_on_cohort(conn, seed=2)
    client = tracking.configure()
    latest = max(
        int(v.version)
        for v in client.search_model_versions(f"name = '{load_spec().registered_model}'")
    )
    assert latest > int(champion), "the retraining registered a new version"
    if tracking.current_champion(client, load_spec().registered_model) is not None:
        result = score_with_champion()
        assert result.n_scored > 0
    assert _md5_of_table(conn, "cut_interim.early_response_predictions") == first_cut["scores_md5"]
    assert conn.execute(
        "select distinct model_version from cut_interim.early_response_predictions"
    ).fetchall() == [(champion,)]
    proc = run("report", "--cut", "interim", "--out", str(tmp_path))
    assert proc.stdout.strip().endswith("index.html")
    again = parse_report((tmp_path / "index.html").read_text())
    first = parse_report(first_cut["report"].read_text())
    assert _clinical_sections(again) == _clinical_sections(first)
    proc = run("report", "--cut", "nosuch", "--out", str(tmp_path / "x"), check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: there is no cut 'nosuch': `cfz cut list` shows the cuts"


def test_cut_name_is_checked(trial):
    _, run = trial
    proc = run("cut", "create", "Bad-Name", "--cutoff", "2026-01-01", check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().startswith("error: cut name 'Bad-Name' is not allowed")
