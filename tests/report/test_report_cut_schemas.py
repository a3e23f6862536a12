"""The report of an analysis cut reads the cut's frozen schema (``MartReader`` schema map),
on the hand-built marts (tests/report/marts_fixture.py: 12 treated subjects, graded labs).

The fixture's ``marts`` and ``ml`` tables are copied into ``cut_demo``; in the copy one
subject is left out and every lab grade is cleared, so a read that still went to the live
marts would show 14 subjects (12 treated, 2 screen failures) and a shift table.
"""

from __future__ import annotations

import json

import pytest

from cfz_platform.report import build_report
from cfz_platform.report.build import compute_cut_text
from cfz_platform.report.data import ReportData
from cfz_platform.report.marts import MartReader, Unavailable
from cfz_platform.report.sections import labs
from tests.report.html_parse import parse_report

CUT = {"marts": "cut_demo", "ml": "cut_demo"}


@pytest.fixture(scope="module")
def cut_demo(report_marts, db):
    """``cut_demo``: the fixture's marts and ml tables, without CFZ-12, with no lab grade;
    recorded in audit.analysis_cuts as cut ``demo``."""
    from cfz_platform.transform.cut import ensure_table

    db.execute("create schema cut_demo")
    for schema in ("marts", "ml"):
        for (table,) in db.execute(
            "select table_name from information_schema.tables where table_schema = %s",
            (schema,),
        ).fetchall():
            db.execute(f"create table cut_demo.{table} as select * from {schema}.{table}")
    db.execute("delete from cut_demo.dim_subject where usubjid = 'CFZ-12'")
    db.execute("create table cut_demo.only_in_cut (usubjid text, note text)")
    db.execute(
        "update cut_demo.fct_lab_results set btoxgrl = null, atoxgrl = null, "
        "btoxgrh = null, atoxgrh = null"
    )
    ensure_table(db)
    db.execute(
        "insert into audit.analysis_cuts (name, cutoff, through_delivery, through_file_id, "
        "marts_schema, adam_schema, datasets, model_version) "
        "values ('demo', '2026-03-15', '20260301T020000', 1, 'cut_demo', 'cut_demo_adam', %s, '1')",
        (json.dumps({}),),
    )
    db.commit()
    return db


def test_reader_reads_the_mapped_schema(cut_demo):
    live, cut = MartReader(cut_demo), MartReader(cut_demo, schemas=CUT)
    assert len(live.table("marts", "dim_subject", ["usubjid"])) == 14
    assert len(cut.table("marts", "dim_subject", ["usubjid"])) == 13
    assert cut.exists("ml", "early_response_predictions")
    assert not cut.exists("marts", "fct_not_there")
    assert cut.columns("marts", "only_in_cut") == ["usubjid", "note"]
    assert not live.exists("marts", "only_in_cut")
    assert cut.schema("audit") == "audit" and cut.schema("marts") == "cut_demo"
    with pytest.raises(Unavailable, match=r"^cut_demo\.dim_subject has no column nope"):
        cut.require("marts", "dim_subject", ["usubjid", "nope"])


def test_lab_shift_sql_reads_the_cut(cut_demo):
    assert not labs.build_lab_shift(ReportData(MartReader(cut_demo))).items[0].frame.empty
    with pytest.raises(Unavailable, match=r"^cut_demo\.fct_lab_results has no CTCAE-graded"):
        labs.build_lab_shift(ReportData(MartReader(cut_demo, schemas=CUT)))


def test_source_texts_name_the_cut_schema():
    assert compute_cut_text("Source: marts.dim_subject, ml.x; audit.y", CUT) == (
        "Source: cut_demo.dim_subject, cut_demo.x; audit.y"
    )
    assert compute_cut_text("cfz_platform.ml.scoring, the marts.", CUT) == (
        "cfz_platform.ml.scoring, the marts."
    )


def test_cut_report_names_the_cut_and_reads_it(cut_demo, tmp_path):
    parsed = parse_report(build_report(tmp_path, cut="demo").read_text())
    html = (tmp_path / "index.html").read_text()
    assert 'id="analysis-cut" data-cut="demo"' in html
    assert "clinical cutoff 2026-03-15, deliveries through 20260301T020000" in html
    for sid, section in parsed.sections.items():
        source = (
            section.text.split("Source:", 1)[1].splitlines()[0] if "Source:" in section.text else ""
        )
        assert "marts." not in source and "ml." not in source.replace(".ml.", ""), (sid, source)
    assert "Source: cut_demo.dim_subject" in parsed.sections["baseline"].text
    assert parsed.sections["lab-shift"].status == "unavailable"
    assert "cut_demo.fct_lab_results has no CTCAE-graded" in parsed.sections["lab-shift"].text
    assert "read live" in parsed.sections["data-quality"].text
    live = parse_report(build_report(tmp_path / "live").read_text())
    assert live.sections["lab-shift"].status == "ok"
    assert parsed.sections["model"].status == "ok"
    assert "cut_demo.early_response_predictions" in parsed.sections["model"].text
