"""Only gated rows reach a published mart; two transforms never build at once (issue 14, items 1 and 4).

Real concurrent processes: `cfz transform` runs in a subprocess and is paused by the test-only
hook ``CFZ_TEST_HOLD_BUILD`` (transform/build.py) right after its upper watermark is fixed
and its raw gate has passed, before dbt reads raw. Meanwhile the test ingests a delivery
holding a serum M-protein of 900 g/dL (physically impossible: the raw gate blocks it), starts
other transforms, then lets the build go on.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from cfz_platform.db import warehouse
from cfz_platform.ingest import run_ingest
from tests.cfz_process import CfzProcess, start_cfz
from tests.conftest import ROOT, run_cfz, simulate_clean_trial

pytestmark = pytest.mark.slow

BAD_VALUE = 900  # g/dL: the raw gate's lab_value_physically_possible blocks it


@pytest.fixture(scope="module")
def landing(warehouse_db, tmp_path_factory) -> Path:
    """A small clean simulated trial (8 subjects, 2 deliveries), ingested."""
    out = tmp_path_factory.mktemp("integrity")
    landing = simulate_clean_trial(out)
    run_ingest(landing)
    return landing


def _subject(db) -> str:
    return db.execute(
        "select min(btrim(usubjid)) from raw.dm where nullif(btrim(rfstdtc), '') is not null"
    ).fetchone()[0]


def _deliver_mprotein(landing: Path, delivery: str, subject: str, value: float, lbdtc: str) -> int:
    """A new delivery with one serum M-protein result, ingested (in this process); its file id."""
    folder = landing / delivery
    folder.mkdir()
    (folder / "lb.csv").write_text(
        "STUDYID,DOMAIN,USUBJID,LBTESTCD,LBSPEC,LBORRES,LBORRESU,LBDTC\n"
        f"CFZ-MM-01,LB,{subject},MPROTEIN,SERUM,{value},g/dL,{lbdtc}\n"
    )
    summary = run_ingest(landing)
    loaded = [f for f in summary.files if f.status == "loaded"]
    assert len(loaded) == 1, summary.headline()
    return loaded[0].file_id


_STARTED: list[CfzProcess | subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _no_run_outlives_its_test():
    """A test that fails while a transform waits at its hold would leave that transform
    holding the warehouse lock for the next tests: stop whatever a test started."""
    yield
    while _STARTED:
        proc = _STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=60)


def _start(*args: str, hold: Path | None = None) -> CfzProcess | subprocess.Popen:
    env = {**os.environ}
    if hold is not None:
        env["CFZ_TEST_HOLD_BUILD"] = str(hold)
    proc = start_cfz(*args, env=env, cwd=ROOT)
    _STARTED.append(proc)
    return proc


def _wait_for(path: Path, proc: CfzProcess | subprocess.Popen, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(
                f"transform ended ({proc.returncode}) before its build:\n{proc.communicate()[1][-3000:]}"
            )
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.3)


def _finish(proc: CfzProcess | subprocess.Popen, timeout: float = 900.0) -> tuple[int, str]:
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def _bi_mprotein(warehouse_db: str) -> list[tuple]:
    """What a BI tool sees: (usubjid, lbdtc, aval) of every serum M-protein in marts."""
    with psycopg.connect(warehouse.bi_settings(warehouse_db).conninfo) as conn:
        return conn.execute(
            "select usubjid, lbdtc, aval from marts.fct_lab_results "
            "where lbtestcd = 'MPROTEIN' and lbspec = 'SERUM'"
        ).fetchall()


def _built_through(db) -> dict[str, int]:
    return dict(db.execute("select schema_name, through_file_id from audit.build_state").fetchall())


def test_a_second_transform_stops_with_75_or_waits_its_turn(landing, db, warehouse_db, tmp_path):
    """Item 4: while one transform builds, another stops at once with exit 75 naming the
    holder; one given --wait runs after it and succeeds; marts is the complete build."""
    hold = tmp_path / "go"
    first = _start("transform", hold=hold)
    _wait_for(Path(f"{hold}.waiting"), first)
    started = time.monotonic()
    second = run_cfz("transform", check=False, timeout=300)
    assert second.returncode == 75, second.stderr
    assert time.monotonic() - started < 60
    assert "warehouse lock" in second.stderr and "`cfz-transform` (backend pid" in second.stderr
    assert "Traceback" not in second.stderr
    waiter = _start("transform", "--wait", "900")
    time.sleep(5)
    assert waiter.poll() is None  # waiting for the lock, not building
    hold.touch()
    code, log = _finish(first)
    assert code == 0, log[-3000:]
    code, log = _finish(waiter)
    assert code == 0, log[-3000:]
    assert "published the validated build" in log
    # the published marts is one whole build: every usable staged lab result is in it once
    usable = db.execute(
        "select count(*) from staging.stg_sdtm__lb where is_usable and lbdt is not null"
    ).fetchone()[0]
    n, distinct = db.execute(
        "select count(*), count(distinct lab_record_key) from marts.fct_lab_results"
    ).fetchone()
    assert n == distinct == usable > 0


@pytest.mark.parametrize("mode", ["--full-refresh", "incremental"])
def test_rows_loaded_during_a_build_wait_for_the_next_gate(
    landing, db, warehouse_db, tmp_path, mode
):
    """Item 1: a delivery ingested while dbt builds (here 900 g/dL) is neither built nor
    published; the build records the watermark it read; the next transform's raw gate
    blocks the delivery and BI never sees the value."""
    subject = _subject(db)
    tag = "1" if mode == "--full-refresh" else "2"
    hold = tmp_path / "go"
    args = ["transform", mode] if mode.startswith("--") else ["transform"]
    build = _start(*args, hold=hold)
    _wait_for(Path(f"{hold}.waiting"), build)
    watermark = db.execute(
        "select max(file_id) from audit.ingest_files where status = 'loaded'"
    ).fetchone()[0]
    started = time.monotonic()
    bad_file = _deliver_mprotein(
        landing, f"2025040{tag}T020000", subject, BAD_VALUE, f"2024-09-0{tag}"
    )
    assert time.monotonic() - started < 60  # the ingest did not wait for the build
    hold.touch()
    code, log = _finish(build)
    assert code == 0, log[-3000:]
    assert bad_file > watermark
    built = _built_through(db)
    assert (built["staging"], built["marts"]) == (watermark, watermark)
    assert (
        db.execute(
            "select count(*) from staging.stg_sdtm__lb where _file_id > %s", (watermark,)
        ).fetchone()[0]
        == 0
    )
    assert not [r for r in _bi_mprotein(warehouse_db) if r[2] >= BAD_VALUE]

    blocked = run_cfz("transform", check=False)
    assert blocked.returncode == 1
    assert "lab_value_physically_possible" in blocked.stdout + blocked.stderr
    assert f"2025040{tag}T020000" in blocked.stdout + blocked.stderr
    assert not [r for r in _bi_mprotein(warehouse_db) if r[2] >= BAD_VALUE]

    # the lab corrects it in a later delivery: the next build publishes the correction
    _deliver_mprotein(landing, f"2025041{tag}T020000", subject, 3.1, f"2024-09-0{tag}")
    run_cfz("transform")
    seen = {(r[0], r[1]): float(r[2]) for r in _bi_mprotein(warehouse_db)}
    assert seen[(subject, f"2024-09-0{tag}")] == pytest.approx(3.1)
    assert max(seen.values()) < BAD_VALUE


def test_a_resent_file_cannot_bring_back_a_value_the_gate_blocked(landing, db, warehouse_db):
    """Issue 24: 900 g/dL in D1 (blocked), corrected in D2 (published); D2's file re-sent
    without that record makes D1's 900 current again. Both gates passed and bi_reader saw
    900 in marts.fct_lab_results and adam.adlb; the raw gate now checks the domain whole."""
    subject = _subject(db)
    run_cfz("transform")
    d1, d2, lbdtc = "20250501T020000", "20250511T020000", "2024-10-01"
    _deliver_mprotein(landing, d1, subject, BAD_VALUE, lbdtc)
    assert run_cfz("transform", check=False).returncode == 1
    _deliver_mprotein(landing, d2, subject, 3.1, lbdtc)
    run_cfz("transform")
    assert max(float(r[2]) for r in _bi_mprotein(warehouse_db)) < BAD_VALUE

    (landing / d2 / "lb.csv").write_text(  # re-sent: another result, not the correction
        "STUDYID,DOMAIN,USUBJID,LBTESTCD,LBSPEC,LBORRES,LBORRESU,LBDTC\n"
        f"CFZ-MM-01,LB,{subject},MPROTEIN,SERUM,2.8,g/dL,2024-10-02\n"
    )
    assert [f.status for f in run_ingest(landing).files if f.status != "skipped_duplicate"] == [
        "loaded"
    ]
    resent = run_cfz("transform", check=False)

    assert resent.returncode == 1
    assert "lab_value_physically_possible" in resent.stdout + resent.stderr
    assert d1 in resent.stdout + resent.stderr
    assert max(float(r[2]) for r in _bi_mprotein(warehouse_db)) < BAD_VALUE
    with psycopg.connect(warehouse.bi_settings(warehouse_db).conninfo) as conn:
        (adlb_max,) = conn.execute(
            "select max(aval) from adam.adlb where usubjid = %s and paramcd = 'MPROTEIN'",
            (subject,),
        ).fetchone()
    assert adlb_max is not None and float(adlb_max) < BAD_VALUE
