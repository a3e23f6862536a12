"""The public CDISC pilot loads with the source row counts; the Prefect flow publishes its summary."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pyreadstat

from cfz_platform.ingest import run_ingest
from tests.conftest import CONFORMANCE
from tests.ingest.helpers import LB_HEADER, csv_text, lb_rows, write

PILOT = CONFORMANCE / "cdiscpilot01"


def source_rows(path: Path) -> int:
    if path.suffix == ".xpt":
        return pyreadstat.read_xport(str(path), metadataonly=True)[1].number_rows or len(
            pyreadstat.read_xport(str(path))[0]
        )
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return sum(1 for _ in fh) - 1


def test_cdisc_pilot_loads_with_the_row_counts_of_the_source_files(db, tmp_path):
    delivery = tmp_path / "landing" / "20140101T000000"
    delivery.mkdir(parents=True)
    for src in sorted(PILOT.iterdir()):
        shutil.copyfile(src, delivery / src.name)  # a symbolic link would be quarantined unread
    summary = run_ingest(tmp_path / "landing")
    assert {f.status for f in summary.files} == {"loaded"}, summary.log_lines()
    for f in summary.files:
        name = f.rel_path.split("/")[1]
        domain = name.split(".")[0]
        expected = source_rows(PILOT / name)
        assert f.rows_read == expected, name
        assert db.execute(f"select count(*) from raw.{domain}").fetchone()[0] == f.rows_loaded
    by_name = {f.rel_path.split("/")[1]: f for f in summary.files}
    assert by_name["lb.csv.gz"].rows_loaded == 59_580
    # CM: 21 prior medications without a start date load (feeds.md: an empty start date never rejects)
    assert by_name["cm.xpt"].rows_rejected == 0 and by_name["cm.xpt"].rows_loaded == 7_510
    assert {f.rows_rejected for f in by_name.values()} == {0}
    # values as text, numbers without a spurious ".0", exact zeros kept exact (pandas trap)
    assert db.execute("select count(*) from raw.ex where exdose = '0'").fetchone()[0] == 226
    assert db.execute("select age from raw.dm where usubjid = '01-701-1015'").fetchone() == ("63",)
    # AE has severity (AESEV) but no toxicity grade: loaded, aetoxgr left empty
    assert db.execute("select count(*), count(aetoxgr), count(aesev) from raw.ae").fetchone() == (
        1191,
        0,
        1191,
    )
    # an extra domain (SUPPDM) got its own table with its own columns
    assert (
        db.execute("select count(*) from raw.suppdm where qnam is not null").fetchone()[0] == 1197
    )


def test_flow_ingest_feeds_under_prefect_publishes_a_table_artifact(db, tmp_path, prefect_harness):
    from prefect import get_client

    from flows.ingest import ingest_feeds

    landing = tmp_path / "landing"
    write(
        landing,
        "20260501T020000",
        "lb.csv",
        csv_text(LB_HEADER, lb_rows(3) + ["CFZ,LB,CFZ-009,HGB"]),
    )
    write(landing, "20260501T020000", "notes.csv", "a,b\n1,2\n")
    result = ingest_feeds(str(landing))
    assert (
        result["files_loaded"],
        result["files_quarantined"],
        result["rows_loaded"],
        result["rows_rejected"],
    ) == (1, 1, 9, 1)
    assert result["rejects_by_kind"] == {"wrong_field_count": 1}
    run_id = result["run_id"]
    assert (
        db.execute(
            "select count(*) from audit.ingest_files where run_id = %s", (run_id,)
        ).fetchone()[0]
        == 2
    )

    import asyncio

    async def artifacts():
        async with get_client() as client:
            return await client.read_artifacts()

    arts = [a for a in asyncio.run(artifacts()) if a.key == "ingest-summary"]
    assert arts and "files loaded 1" in (arts[0].description or "")
    assert "20260501T020000/notes.csv" in str(arts[0].data)


def test_cfz_ingest_exits_3_naming_the_quarantined_files_while_the_others_load(
    db, tmp_path, prefect_harness, monkeypatch
):
    from typer.testing import CliRunner

    from cfz_platform.cli import EXIT_QUARANTINED, app

    monkeypatch.setenv("CFZ_PREFECT_EPHEMERAL", "1")  # the flow runs against the test harness
    landing = tmp_path / "landing"
    d = "20260502T020000"
    write(landing, d, "lb.csv", csv_text(LB_HEADER, lb_rows(2)))
    write(
        landing, d, "dm.csv", "STUDYID,DOMAIN,USUBJID,ctid,CTID\nCFZ,DM,CFZ-001,1,2\n"
    )  # a duplicate column
    (landing / d / "ae.csv").symlink_to("/etc/passwd")

    first = CliRunner().invoke(app, ["ingest", "--landing", str(landing)])
    again = CliRunner().invoke(app, ["ingest", "--landing", str(landing)])

    assert first.exit_code == EXIT_QUARANTINED == 3, first.output
    assert (
        f"quarantined: 2 file(s) (every other file loaded; reasons in audit.ingest_files): {d}/ae.csv, {d}/dm.csv"
        in first.output
    )
    assert f"QUARANTINED {d}/ae.csv: symbolic link" in first.output and "root:" not in first.output
    assert db.execute(
        "select status from audit.ingest_files where rel_path = %s", (f"{d}/lb.csv",)
    ).fetchone() == ("loaded",)
    # nothing new the second time: the quarantined files were recorded once, exit 0
    assert again.exit_code == 0, again.output


def test_the_nightly_ingest_step_goes_on_and_names_the_quarantined_files(db, tmp_path):
    from cfz_platform.orchestration.steps import step_ingest

    landing = tmp_path / "landing"
    d = "20260503T020000"
    write(landing, d, "lb.csv", csv_text(LB_HEADER, lb_rows(2)))
    write(landing, d, "rs.csv.gz", b"\x1f\x8b\x08\x00corrupt")
    outcome = step_ingest(landing)
    assert (
        outcome.result.status == "completed"
        and outcome.files_loaded == 1
        and outcome.new_response_data
    )
    assert f"1 quarantined ({d}/rs.csv.gz)" in outcome.result.message
    assert [r["status"] for r in outcome.table_rows] == ["loaded", "quarantined"]
