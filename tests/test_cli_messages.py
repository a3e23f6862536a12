"""One failure, one message (issue 24, item 4): what the real command line prints when a run fails.

Each test runs ``cfz`` in a subprocess against the module's warehouse and the session's
Prefect test server (``PREFECT_API_URL``), and reads its output as a user would: one
``error:`` line naming what to do, last; no traceback; a gate's report printed once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cfz_platform.db import warehouse
from tests.cfz_process import cfz_command, run_cfz_process
from tests.conftest import ROOT, run_cfz
from tests.webhook import webhook_server

SUBJECT = "CFZ-MM-01-101-0001"


@pytest.fixture(scope="module")
def prefect_env(prefect_harness) -> dict:
    """The subprocess reports to the session's Prefect test server, never a developer's."""
    from prefect.settings import PREFECT_API_URL

    return {"PREFECT_API_URL": PREFECT_API_URL.value()}


def _lines(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip()]


def _error_line(proc) -> str:
    """The output's one ``error:`` line, which must also be its last line on stderr."""
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    assert _lines(proc.stderr)[-1] == errors[0], proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    return errors[0]


def _blocked_landing(root: Path) -> Path:
    """One delivery: a subject and a serum M-protein of 900 g/dL (the raw gate blocks it)."""
    delivery = root / "landing" / "20250601T020000"
    delivery.mkdir(parents=True)
    (delivery / "dm.csv").write_text(
        "STUDYID,DOMAIN,USUBJID,SUBJID,SITEID,ARMCD,ARM,RFSTDTC,COHORT,DOSELVL\n"
        f"CFZ-MM-01,DM,{SUBJECT},0001,101,A,Arm A,2025-01-06,EXPANSION,36\n"
    )
    (delivery / "lb.csv").write_text(
        "STUDYID,DOMAIN,USUBJID,LBTESTCD,LBSPEC,LBORRES,LBORRESU,LBDTC\n"
        f"CFZ-MM-01,LB,{SUBJECT},MPROTEIN,SERUM,900,g/dL,2025-05-01\n"
    )
    return root / "landing"


def test_train_without_features_and_score_without_champion_say_so_in_one_line(
    warehouse_db, prefect_env
):
    train = run_cfz("train", env=prefect_env, check=False)
    assert train.returncode == 1
    assert _lines(train.stdout + train.stderr) == [_error_line(train)]
    assert "marts.fct_ml_features does not exist" in train.stderr
    assert "cfz transform" in train.stderr

    score = run_cfz("score", env=prefect_env, check=False)
    assert score.returncode == 1
    assert _lines(score.stdout + score.stderr) == [_error_line(score)]
    assert "no model version has the alias 'champion'" in score.stderr
    assert "cfz train" in score.stderr


def test_transform_with_nothing_loaded_says_so_and_publishes_nothing(empty_warehouse):
    # a warehouse of its own: the module's may hold the blocked delivery of a slow test
    # (slow tests run first, tests/scheduling.py)
    proc = run_cfz("transform", check=False)
    assert proc.returncode == 1
    line = _error_line(proc)
    assert "nothing is loaded" in line and "cfz ingest --landing" in line
    assert "nothing was published" in line
    with warehouse.connect(empty_warehouse, autocommit=True) as conn:
        published = conn.execute(
            "select count(*) from information_schema.tables where table_schema in ('marts', 'adam')"
        ).fetchone()[0]
        build_state = conn.execute("select to_regclass('audit.build_state')").fetchone()[0]
    assert published == 0
    assert build_state is None


@pytest.mark.parametrize(
    "command", [("db", "start"), ("transform",), ("train",), ("report", "--out", "REPORT")]
)
def test_a_wrong_password_says_so_and_where_to_fix_it(warehouse_db, prefect_env, command, tmp_path):
    owner = warehouse.settings(warehouse_db)
    wrong = owner.url().replace(f":{owner.password}@", ":not-the-password@")
    args = [str(tmp_path / "report") if a == "REPORT" else a for a in command]
    proc = run_cfz(*args, env={**prefect_env, "CFZ_DATABASE_URL": wrong}, check=False)
    assert proc.returncode == 1
    assert _lines(proc.stdout + proc.stderr) == [_error_line(proc)]
    line = _error_line(proc)
    assert f"refused the password of user '{owner.user}'" in line, line
    assert "put the right password in CFZ_DATABASE_URL" in line
    assert owner.password not in proc.stderr and "not-the-password" not in proc.stderr


@pytest.mark.parametrize(
    "command", [("ingest", "--landing", "LANDING"), ("transform",), ("report", "--out", "REPORT")]
)
def test_a_warehouse_database_that_does_not_exist_names_how_to_create_it(
    cluster, command, tmp_path
):
    (tmp_path / "landing").mkdir()
    swap = {"LANDING": str(tmp_path / "landing"), "REPORT": str(tmp_path / "report")}
    args = [swap.get(a, a) for a in command]
    proc = run_cfz(*args, env={"CFZ_WAREHOUSE_DB": "cfz_never_created"}, check=False)
    assert proc.returncode == 1
    assert _lines(proc.stdout + proc.stderr) == [_error_line(proc)]
    line = _error_line(proc)
    assert "the warehouse database 'cfz_never_created' does not exist" in line, line
    assert "create it with 'cfz db start'" in line
    assert "OperationalError" not in line


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow  # a real nightly run through the command line
def test_nightly_on_a_blocked_delivery_prints_the_report_once_and_one_error_line(
    warehouse_db, prefect_env, db, tmp_path
):
    """...and a failure alert whose webhook is down adds one warning line, nothing more."""
    landing = _blocked_landing(tmp_path)
    down = f"http://127.0.0.1:{_closed_port()}/hook"
    proc = run_cfz(
        "nightly",
        "--landing",
        str(landing),
        "--no-train",
        "--report-dir",
        str(tmp_path / "report"),
        env={**prefect_env, "CFZ_ALERT_WEBHOOK_URL": down},
        check=False,
    )
    assert proc.returncode == 1
    line = _error_line(proc)
    assert line.startswith("error: nightly failed at step 'raw_gate': raw gate on schema 'raw'")
    out = proc.stdout + proc.stderr
    assert out.count("BLOCKING raw_gate.lb / lab_value_physically_possible") == 1, out
    assert "prefect.flow_runs" not in out and "prefect.task_runs" not in out
    (alert,) = [ln for ln in proc.stderr.splitlines() if "failure alert" in ln]
    assert "WARNING" in alert and "the failure alert was not delivered" in alert
    assert f"127.0.0.1:{down.split(':')[2].split('/')[0]} is not reachable" in alert
    assert "the run's failure stands" in alert
    # progress and the gate's report on stderr, the run's summary on stdout; nothing twice
    assert len(_lines(proc.stderr)) <= 30, proc.stderr
    assert db.execute(
        "select outcome, failed_step from audit.nightly_runs order by started_at desc limit 1"
    ).fetchone() == ("failed", "raw_gate")
    assert db.execute("select to_regclass('marts.fct_lab_results')").fetchone()[0] is None


@pytest.fixture
def own_prefect_home(warehouse_db, tmp_path) -> Iterator[tuple[dict, Path]]:
    """A project home of its own (``CFZ_HOME``: the repo's dbt, flows, models and
    expectations linked in), on this module's warehouse through ``CFZ_DATABASE_URL``, so
    that ``cfz prefect start`` starts a server this test may kill; yields the environment of
    its commands and the home. The server and its database are removed afterwards."""
    home = tmp_path / "home"
    home.mkdir()
    for part in ("dbt", "flows", "models", "expectations"):
        (home / part).symlink_to(ROOT / part)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PREFECT_")
        and key not in ("CFZ_HOME", "CFZ_WAREHOUSE_DB", "CFZ_PREFECT_INSTANCE")
    }
    env.update(
        CFZ_HOME=str(home),
        CFZ_DATABASE_URL=warehouse.settings(warehouse_db).url(),
    )
    try:
        yield env, home
    finally:
        info = home / ".cfz" / "prefect-server.json"
        if info.exists():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(json.loads(info.read_text())["pid"], signal.SIGKILL)
        warehouse.drop_database(f"{warehouse_db}_prefect")


@pytest.mark.slow  # a real nightly run through the command line
def test_a_prefect_api_that_goes_away_mid_run_is_named_at_once_with_its_log(
    own_prefect_home, db, tmp_path
):
    """The server dies while the nightly's ingest waits for the ingest lock: the run stops
    before the raw gate naming the API and its log, within seconds (not minutes later in
    whatever step made the next API call)."""
    from cfz_platform.orchestration.lock import INGEST, warehouse_lock

    env, home = own_prefect_home
    hook = contextlib.ExitStack()
    url, received = hook.enter_context(webhook_server())
    env["CFZ_ALERT_WEBHOOK_URL"] = url
    started = run_cfz_process("prefect", "start", env=env, cwd=ROOT)
    assert started.returncode == 0, started.stderr
    info = json.loads((home / ".cfz" / "prefect-server.json").read_text())
    landing = _blocked_landing(tmp_path)
    lines: list[str] = []
    with warehouse_lock(INGEST, holder="test"):
        # a real subprocess: its stderr is read line by line while it runs
        proc = subprocess.Popen(
            cfz_command("nightly", "--landing", str(landing), "--no-train", "--wait", "300"),
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
        reader.start()
        deadline = time.monotonic() + 120
        while not any("[1/8] ingest" in ln for ln in lines) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert any("[1/8] ingest" in ln for ln in lines), lines
        os.killpg(info["pid"], signal.SIGKILL)  # the server dies mid-run
        while _answers(info["api_url"]):
            time.sleep(0.1)
        lost_at = time.monotonic()
    try:
        assert proc.wait(timeout=180) == 1
    finally:
        hook.close()
        if proc.poll() is None:
            proc.kill()
    seconds = time.monotonic() - lost_at
    reader.join(timeout=5)
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, lines
    assert errors[0].startswith(f"error: the Prefect API at {info['api_url']} stopped answering")
    assert f"see {home / '.cfz' / 'prefect-server.log'} for why" in errors[0]
    assert "cfz prefect start" in errors[0]
    assert not any("Traceback" in ln for ln in lines)
    assert seconds < 45, f"{seconds:.0f} s after the API went away"
    step, reason = db.execute(
        "select failed_step, reason from audit.nightly_runs order by started_at desc limit 1"
    ).fetchone()
    assert step == "raw_gate" and reason.startswith("the Prefect API at")
    # Prefect cannot run the state hooks without its API: the nightly sent the alert itself
    assert len(received) == 1
    alert = json.loads(received[0][2])
    assert alert["failed_step"] == "raw_gate" and alert["error"] == reason


def _answers(api_url: str) -> bool:
    from cfz_platform.orchestration.failures import prefect_api_answers

    return prefect_api_answers(api_url, timeout=1.0)
