"""Subject-scoped incremental marts and ADaM datasets (issue 29, macros/subject_scope.sql).

An incremental transform derives again, in the subject-scoped tables, only the subjects with
a raw row since the candidate's build, and publishes exactly what a full build gives. Real
pipeline (`run_transform`: raw gate, candidate, mart gate, publish) on a copy of the built
default trial (published once, in full), two planted deliveries:
1. a corrected baseline lab of one subject, a carfilzomib dose the day before another
   subject's first dose (re-based by a correction: the first dose date and every study day
   move) and a subject new to DM with a lab result and a dose. The candidate is cold (the
   template's marts_previous is the empty schema the warehouse started with): the
   incremental tables are copied from marts and adam;
2. a new post-baseline lab of a fourth subject. The candidate is the double buffer,
   marts_previous and adam_previous, two deliveries behind.
After each: every published table equals a full rebuild of the same data into another
schema, row for row; after the second, the rows the build rewrote (row versions) are exactly
those of the subjects the two deliveries touched.
"""

from __future__ import annotations

import csv
import logging
from datetime import date, timedelta
from pathlib import Path

import pytest

from cfz_platform.ingest import run_ingest
from cfz_platform.transform import build_state
from cfz_platform.transform.pipeline import run_transform
from tests.transform.mart_diff import diff_schemas

pytestmark = pytest.mark.slow

#: The subject-scoped incremental tables (schema, table) and their per-subject key column.
SUBJECT_SCOPED = (
    ("marts", "fct_exposure_records"),
    ("marts", "fct_vital_signs"),
    ("marts", "fct_ml_features"),
    ("adam", "adlb"),
    ("adam", "adex"),
)
NEWCOMER = "CFZ-MM-01-999-9998"


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse: str) -> str:
    """This module's warehouse is a copy of the session's built default trial."""
    return trial_warehouse


@pytest.fixture(scope="module")
def landing(db, tmp_path_factory, monkeypatch_module) -> Path:
    """A landing root for the planted deliveries (the trial's own are loaded already)."""
    monkeypatch_module.setenv("CFZ_GX_PROJECT_DIR", str(tmp_path_factory.mktemp("gx")))
    return tmp_path_factory.mktemp("landing")


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _current(db, domain: str, where: str, params: tuple) -> dict:
    """The current raw version of one record (newest delivery, file, line), as a dict."""
    cur = db.execute(
        f"select * from raw.{domain} where {where} "
        "order by _delivery_id desc, _file_id desc, _line desc limit 1",
        params,
    )
    return dict(zip([c.name for c in cur.description], cur.fetchone(), strict=True))


def _deliver(landing: Path, delivery: str, files: dict[str, list[dict]]) -> None:
    """A new delivery folder with one file per domain (the raw columns of its rows, lineage
    left out), ingested."""
    folder = landing / delivery
    folder.mkdir()
    for domain, rows in files.items():
        columns = [c for c in rows[0] if not c.startswith("_")]
        with open(folder / f"{domain}.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([c.upper() for c in columns])
            for r in rows:
                w.writerow([r[c] or "" for c in columns])
    summary = run_ingest(landing)
    assert summary.files_quarantined == 0, summary.log_lines()


class _BuildPlans(logging.Handler):
    """Collects the build plan lines ``build_marts`` logs (``dbt build of <schema>: <reason>``)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _transform(db, run_id: str) -> None:
    """``run_transform``, published, and its candidate built incrementally (not in full)."""
    plans, logger = _BuildPlans(), logging.getLogger("cfz_platform.transform.build")
    level = logger.level
    logger.addHandler(plans)
    logger.setLevel(logging.INFO)
    try:
        result = run_transform(run_id=run_id)
    finally:
        logger.removeHandler(plans)
        logger.setLevel(level)
    assert result.published, result.notes
    built = [line for line in plans.lines if line.startswith("dbt build of marts_candidate")]
    assert built and "incremental:" in built[0], plans.lines


def _assert_published_equals_full_build(db) -> None:
    """Every table dbt builds into marts and adam equals a full build of the same data into
    marts_full / adam_full (the endpoint tables the transform writes beside them aside)."""
    from cfz_platform.transform.build import build_marts

    assert build_marts("marts_full", full_refresh=True, unit_tests=False).success
    for published, full in (("marts", "marts_full"), ("adam", "adam_full")):
        diffs = [d for d in diff_schemas(db, published, full) if d.only_in != published]
        assert {d.table for d in diffs} >= {t for s, t in SUBJECT_SCOPED if s == published}
        assert [d for d in diffs if not d.identical] == [], published


def _row_versions(db, schema: str, table: str) -> dict[str, frozenset[str]]:
    """usubjid -> the row versions (xmin) of that subject's rows."""
    return {
        u: frozenset(x)
        for u, x in db.execute(
            f"select usubjid, array_agg(distinct xmin::text) from {schema}.{table} group by usubjid"
        )
    }


@pytest.fixture(scope="module")
def planted(db, landing) -> dict[str, str]:
    """The first planted delivery, transformed; the subjects it touched by role."""
    rebased_lab = db.execute(
        "select usubjid, lbtestcd, lbdtc from marts.fct_lab_results where ablfl = 'Y' "
        "and lbtestcd = 'ALB' order by usubjid limit 1"
    ).fetchone()
    first_dose = db.execute(
        "select usubjid, min(exstdt) from marts.fct_exposure_records "
        "where drug = 'CARFILZOMIB' and is_dose_given and usubjid <> %s "
        "group by usubjid order by usubjid limit 1",
        (rebased_lab[0],),
    ).fetchone()
    lab = _current(
        db,
        "lb",
        "btrim(usubjid) = %s and upper(btrim(lbtestcd)) = %s and btrim(lbdtc) = %s",
        rebased_lab,
    )
    dose = _current(
        db,
        "ex",
        "btrim(usubjid) = %s and upper(btrim(extrt)) = 'CARFILZOMIB' "
        "and left(btrim(exstdtc), 10) = %s",
        (first_dose[0], first_dose[1].isoformat()),
    )
    earlier = (first_dose[1] - timedelta(days=1)).isoformat()
    template = db.execute(
        "select min(usubjid) from marts.fct_exposure_records where drug = 'CARFILZOMIB' "
        "and is_dose_given and usubjid not in (%s, %s)",
        (rebased_lab[0], first_dose[0]),
    ).fetchone()[0]
    dm = _current(db, "dm", "btrim(usubjid) = %s", (template,))
    if "subjid" in dm:
        dm["subjid"] = "9998"
    lab_key = db.execute(
        "select lbtestcd, lbdtc from marts.fct_lab_results where usubjid = %s "
        "order by lbdt, lbtestcd limit 1",
        (template,),
    ).fetchone()
    newcomer_lab = _current(
        db,
        "lb",
        "btrim(usubjid) = %s and upper(btrim(lbtestcd)) = %s and btrim(lbdtc) = %s",
        (template, *lab_key),
    )
    template_dose = db.execute(
        "select min(exstdt) from marts.fct_exposure_records "
        "where usubjid = %s and drug = 'CARFILZOMIB' and is_dose_given",
        (template,),
    ).fetchone()[0]
    newcomer_dose = _current(
        db,
        "ex",
        "btrim(usubjid) = %s and upper(btrim(extrt)) = 'CARFILZOMIB' "
        "and left(btrim(exstdtc), 10) = %s",
        (template, template_dose.isoformat()),
    )
    _deliver(
        landing,
        "20260501T020000",
        {
            "lb": [
                {**lab, "lborres": str(round(float(lab["lborres"]) * 1.2, 3))},
                {**newcomer_lab, "usubjid": NEWCOMER},
            ],
            "ex": [
                {**dose, "exstdtc": earlier, "exendtc": earlier if dose.get("exendtc") else ""},
                {**newcomer_dose, "usubjid": NEWCOMER},
            ],
            "dm": [{**dm, "usubjid": NEWCOMER}],
        },
    )
    _transform(db, "planted1")
    return {"rebased_lab": rebased_lab[0], "rebased_dose": first_dose[0], "new": NEWCOMER}


def test_cold_candidate_catches_up_by_subject_and_equals_a_full_build(db, planted):
    # the ADaM schema was recorded with the marts it was built with, and travels with them
    assert build_state.read_state(db, "adam") == build_state.read_state(db, "marts")
    # the corrected baseline moved BASE; the earlier dose moved the first dose date
    assert (
        db.execute(
            "select count(*) from adam.adlb where usubjid = %s", (planted["new"],)
        ).fetchone()[0]
        == 1
    )
    assert (
        db.execute(
            "select count(*) from adam.adex where usubjid = %s and paramcd = 'DOSE'",
            (planted["new"],),
        ).fetchone()[0]
        == 1
    )
    _assert_published_equals_full_build(db)


def test_double_buffer_rewrites_only_the_touched_subjects(db, landing, planted):
    # another subject's creatinine, re-dated a week after its latest: a new post-baseline result
    usubjid, last_dtc = db.execute(
        "select usubjid, max(lbdtc) from marts.fct_lab_results where lbtestcd = 'CREAT' "
        "and base is not null and usubjid not in (%s, %s, %s) group by usubjid order by usubjid "
        "limit 1",
        tuple(planted.values()),
    ).fetchone()
    row = _current(
        db,
        "lb",
        "btrim(usubjid) = %s and upper(btrim(lbtestcd)) = 'CREAT' and btrim(lbdtc) = %s",
        (usubjid, last_dtc),
    )
    new_dtc = (date.fromisoformat(last_dtc[:10]) + timedelta(days=7)).isoformat()
    # the next candidate is marts_previous / adam_previous: the template's build
    before = {
        (schema, table): _row_versions(db, f"{schema}_previous", table)
        for schema, table in SUBJECT_SCOPED
    }
    _deliver(landing, "20260502T020000", {"lb": [{**row, "lbdtc": new_dtc}]})
    _transform(db, "planted2")
    touched = {*planted.values(), usubjid}
    for (schema, table), versions in before.items():
        after = _row_versions(db, schema, table)
        rewritten = {u for u in versions.keys() | after.keys() if versions.get(u) != after.get(u)}
        present = versions.keys() | after.keys()
        assert rewritten == touched & present, (table, sorted(rewritten ^ (touched & present)))
    assert (
        db.execute(
            "select count(*) from adam.adlb where usubjid = %s and adt = %s", (usubjid, new_dtc)
        ).fetchone()[0]
        == 1
    )
    _assert_published_equals_full_build(db)
