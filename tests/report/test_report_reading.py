"""The report as a data-safety committee reads it (issue 26, point 3), on the hand-built marts.

Hand-worked (tests/report/marts_fixture.py): 12 treated subjects; CFZ-01..03 at 20 mg/m²
(group A), CFZ-04..08 at 27 (A), CFZ-09 at 27 (B), CFZ-10..12 at 36 (B). TEAEs: CFZ-01
thrombocytopenia grade 4 (serious, drug interrupted) and fatigue 1; CFZ-02 thrombocytopenia
3; CFZ-03 fatigue 1; CFZ-04 fatigue 2; CFZ-10 pneumonia 3 (serious, drug withdrawn); CFZ-11
dyspnoea 2. CFZ-05's nausea is not treatment-emergent.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from cfz_platform.report import build_report, figures
from tests.report.html_parse import parse_report

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)+$")
CODE = re.compile(r"^[A-Z]+(_[A-Z0-9]+)+$")
LONG_DECIMAL = re.compile(r"\d\.\d{4,}")


@pytest.fixture(scope="module")
def report(report_marts, tmp_path_factory):
    index = build_report(tmp_path_factory.mktemp("report"))
    return parse_report(index.read_text())


def test_tables_show_labels_not_column_names_codes_or_raw_values(report):
    """No header is a column name or a code; no cell says True/False/None/nan; no number
    carries more than three decimals."""
    seen = 0
    for sid, section in report.sections.items():
        for table in section.tables:
            header, *rows = table
            for h in header:
                assert not SNAKE_CASE.match(h) and not CODE.match(h), (sid, h)
            for row in rows:
                for cell in row:
                    seen += 1
                    assert cell not in {"True", "False", "None", "nan", "NaT", "<NA>"}, (sid, row)
                    assert not LONG_DECIMAL.search(cell), (sid, cell)
                    assert not CODE.match(cell) or sid == "data-quality", (sid, cell)
    assert seen > 200


def _rows(section, header: str) -> dict[str, dict[str, str]]:
    return {r[header]: r for r in section.table_with(header)}


def test_aes_by_system_organ_class_and_term_at_worst_grade(report):
    table = report.sections["adverse-events"].table_with("System organ class")
    soc = {r["System organ class"]: r for r in table if r["Preferred term"] in {"", "All terms"}}
    assert soc["Any TEAE"]["Any grade"] == "6 (50%)"
    blood = soc["BLOOD AND LYMPHATIC SYSTEM DISORDERS"]
    assert blood["Any grade"] == "2 (17%)" and blood["Grade ≥3"] == "2 (17%)"
    assert blood["Grade 4"] == "1" and blood["Grade 3"] == "1"
    general = soc["GENERAL DISORDERS"]
    assert general["Any grade"] == "3 (25%)" and general["Grade 1"] == "2"
    assert "GASTROINTESTINAL DISORDERS" not in soc  # CFZ-05's nausea is not treatment-emergent
    # each preferred term sits under its system organ class
    # each preferred term sits under its system organ class, the most frequent class first
    at = [r["Preferred term"] for r in table].index("THROMBOCYTOPENIA")
    assert table[at - 1]["System organ class"] == "BLOOD AND LYMPHATIC SYSTEM DISORDERS"
    assert [r["System organ class"] for r in table if r["Preferred term"] == "All terms"][0] == (
        "GENERAL DISORDERS"
    )


def test_aes_by_dose_level_and_group(report):
    table = report.sections["adverse-events"].table_with("AE leading to discontinuation")
    by = {(r["Dose level (mg/m²)"], r["Group"]): r for r in table}
    assert set(by) == {("20", "A"), ("27", "A"), ("27", "B"), ("36", "B")}
    assert by[("20", "A")]["Treated"] == "3" and by[("20", "A")]["Any TEAE"] == "3 (100%)"
    assert by[("20", "A")]["Grade ≥3 TEAE"] == "2 (67%)"
    assert by[("20", "A")]["Serious AE"] == "1 (33%)"
    assert by[("27", "A")]["Any TEAE"] == "1 (20%)"
    assert by[("36", "B")]["AE leading to discontinuation"] == "1 (33%)"
    assert by[("27", "B")]["Any TEAE"] == "0 (0%)"


def test_serious_aes_and_aes_leading_to_discontinuation_are_listed(report):
    section = report.sections["adverse-events"]
    listings = [
        t for t in section.tables if t[0][:3] == ["Subject", "System organ class", "Preferred term"]
    ]
    serious, discontinued = listings
    assert sorted((r[0], r[2]) for r in serious[1:]) == [
        ("CFZ-01", "THROMBOCYTOPENIA"),
        ("CFZ-10", "PNEUMONIA"),
    ]
    assert [(r[0], r[2]) for r in discontinued[1:]] == [("CFZ-10", "PNEUMONIA")]
    assert "2 serious adverse events in 2 subject(s)" in section.text
    assert "1 adverse events leading to discontinuation in 1 subject(s)" in section.text


def test_km_curves_name_their_origin_and_mark_censoring(report):
    text = report.sections["km"].text
    assert "Time origin: the first study dose" in text
    assert "+: a censored subject" in text


def test_clipped_plots_mark_and_say_what_they_cut():
    best = pd.DataFrame(
        {
            "usubjid": ["S1", "S2", "S3"],
            "best_pct": [250.0, -40.0, -95.0],
            "best_response": ["PD", "MR", "VGPR"],
        }
    )
    fig = figures.plot_waterfall(best, "Source: test.")
    assert "1 subject(s) rose more than 100%: their bars are cut at +100% and marked ▲" in (
        fig.caption
    )
    unclipped = figures.plot_waterfall(best.assign(best_pct=[50.0, -40.0, -95.0]), "Source: test.")
    assert unclipped.caption == "Source: test."
    series = pd.DataFrame(
        {
            "usubjid": ["S1", "S1", "S2"],
            "day": [28, 56, 28],
            "pct": [150.0, 320.0, -60.0],
            "best_response": ["PD", "PD", "PR"],
        }
    )
    spider = figures.plot_spider(series, "Source: test.")
    assert "1 value(s) from 1 subject(s) above +200% are drawn at +200% and marked ▲" in (
        spider.caption
    )
    assert "highest +320%" in spider.caption
