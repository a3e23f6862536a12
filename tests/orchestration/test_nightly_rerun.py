"""A nightly killed after loading lab data: its rerun still builds, publishes and trains (issue 14, item 9).

The rerun loads nothing new (the killed run's files are in the ledger), so deciding from
"what this run loaded" made it a no-op that never trained. The nightly now asks the
warehouse what is owed (``steps.build_pending``, ``steps.training_pending``); these tests
put a real warehouse in each state a killed run can leave and read the nightly's decision.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cfz_platform.ingest import run_ingest
from cfz_platform.orchestration import pending, steps
from tests.conftest import run_cfz, simulate_clean_trial


@pytest.fixture(scope="module")
def killed_after_ingest(warehouse_db, tmp_path_factory) -> Path:
    """A nightly that loaded a small trial (DM, LB, RS among it) and was killed right after."""
    out = tmp_path_factory.mktemp("killed")
    landing = simulate_clean_trial(out)
    steps.step_ingest(landing, run_id="killed")
    return landing


def _add(landing: Path, delivery: str, domain: str, header: str, row: str) -> None:
    (landing / delivery).mkdir()
    (landing / delivery / f"{domain}.csv").write_text(f"{header}\n{row}\n")
    run_ingest(landing)


def test_the_rerun_builds_and_trains_what_the_killed_run_loaded(killed_after_ingest, db):
    rerun = steps.step_ingest(killed_after_ingest, run_id="rerun")
    assert rerun.files_loaded == 0 and not rerun.new_response_data  # what the old decision read
    loaded = db.execute(
        "select count(*) from audit.ingest_files where status = 'loaded'"
    ).fetchone()[0]
    assert steps.build_pending() == loaded > 0
    # nothing is published yet: training waits for the build, then trains on it
    assert not steps.training_pending()

    run_cfz("transform")  # what the rerun does next: gate, build, publish
    assert steps.build_pending() == 0
    assert steps.training_pending()  # killed before training: the rerun must train


def test_training_state_follows_what_arrived(killed_after_ingest, db):
    with db.transaction():
        pending.record_training_seen(db, steps.MODEL, pending.response_data_through(db))
    assert not steps.training_pending()
    subject = db.execute("select min(btrim(usubjid)) from raw.dm").fetchone()[0]
    # dosing data alone is not response data
    _add(
        killed_after_ingest,
        "20250501T020000",
        "ex",
        "STUDYID,DOMAIN,USUBJID,EXTRT,EXDOSE,EXDOSU,EXSTDTC",
        f"CFZ-MM-01,EX,{subject},CARFILZOMIB,20,mg/m2,2024-08-01",
    )
    assert steps.build_pending() == 1
    with db.transaction():  # the build publishes it (as a transform records its watermark)
        db.execute(
            "update audit.build_state set through_file_id = (select max(file_id) from audit.ingest_files) "
            "where schema_name = 'marts'"
        )
    assert steps.build_pending() == 0 and not steps.training_pending()
    # a lab result is: once published, training is owed until a training step completes
    _add(
        killed_after_ingest,
        "20250502T020000",
        "lb",
        "STUDYID,DOMAIN,USUBJID,LBTESTCD,LBSPEC,LBORRES,LBORRESU,LBDTC",
        f"CFZ-MM-01,LB,{subject},MPROTEIN,SERUM,2.5,g/dL,2024-08-01",
    )
    assert steps.build_pending() == 1 and not steps.training_pending()
    with db.transaction():
        db.execute(
            "update audit.build_state set through_file_id = (select max(file_id) from audit.ingest_files) "
            "where schema_name = 'marts'"
        )
    assert steps.training_pending()
