"""The report's content, checked against hand-worked numbers from the fixture marts.

The fixture (tests/report/marts_fixture.py) has 14 screened subjects, 12 treated
(8 in group A, 4 in B), 5 in maintenance, MTD 27 mg/m2, and a handful of AEs and lab
grades whose counts are worked out by hand in the assertions below.
"""

from __future__ import annotations

import os

import pandas as pd
import pytest

from cfz_platform.report import SECTION_IDS, build_report
from cfz_platform.report.sections.endpoints import compute_at_risk
from cfz_platform.report.sections.response import compute_display_subjects
from tests.conftest import run_cfz
from tests.report.html_parse import parse_report
from tests.report.marts_fixture import E3_TEXT, build_fixture_marts


@pytest.fixture(scope="module")
def report(report_marts, tmp_path_factory):
    index = build_report(tmp_path_factory.mktemp("report"))
    html = index.read_text()
    return parse_report(html), html


def test_report_replaces_a_link_planted_at_index_html(report_marts, tmp_path):
    """``index.html`` planted as a symbolic link to a file of the user's: the report replaces
    the link (written beside the folder, renamed into place) and leaves the target alone."""
    out, victim = tmp_path / "report", tmp_path / "victim.txt"
    out.mkdir()
    victim.write_text("the user's own file\n")
    (out / "index.html").symlink_to(victim)

    index = build_report(out)

    assert victim.read_text() == "the user's own file\n"
    assert index == out / "index.html" and index.is_file() and not index.is_symlink()
    assert "<html" in index.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report", "victim.txt"]


def test_report_is_self_contained(report):
    parsed, html = report
    assert list(parsed.sections) == SECTION_IDS
    assert parsed.scripts == 0 and parsed.external == []
    assert "default-src 'none'" in html
    for section in parsed.sections.values():
        for img in section.images:
            assert img["src"].startswith("data:image/png;base64,")
            assert int(img["width"]) > 100 and int(img["height"]) > 100


def test_every_section_names_its_source(report):
    parsed, _ = report
    sources = {
        "consort": "marts.dim_subject",
        "baseline": "marts.dim_subject",
        "dose-escalation": "marts.fct_dose_escalation",
        "endpoints": "marts.rpt_study_endpoints",
        "swimmer": "marts.fct_response_assessments",
        "waterfall": "marts.fct_response_assessments",
        "spider": "marts.fct_response_assessments",
        "concordance": "marts.fct_response_assessments",
        "km": "marts.rpt_survival_curves",
        "adverse-events": "marts.fct_adverse_events",
        "performance-status": "marts.fct_performance_status",
        "medical-history": "marts.fct_medical_history",
        "disposition": "marts.fct_disposition",
        "lab-shift": "marts.fct_lab_results",
        "eligibility": "marts.fct_eligibility",
        "data-quality": "audit.ingest_files",
        "model": "ml.early_response_predictions",
        "vital-signs": "marts.fct_vital_signs",
        "con-meds": "marts.fct_concomitant_medications",
    }
    for sid, source in sources.items():
        section = parsed.sections[sid]
        assert section.status == "ok", section.text[:300]
        assert "Source: " in section.text and source in section.text, sid


def test_consort_counts(report):
    text = report[0].sections["consort"].text
    for stage, n in (
        ("Screened", 14),
        ("Eligible", 12),
        ("Enrolled", 12),
        ("Treated", 12),
        ("Entered maintenance", 5),
    ):
        assert f"{stage} {n}" in text
    # failed criteria named by their text when the mart has it (E3), else by their id (E6)
    assert f"E3: {E3_TEXT}, not met: 1" in text and "E6, not evaluable: 1" in text
    assert "group A: 8 · group B: 4" in text
    # treatment status (fct_disposition): CFZ-06 and CFZ-11 progressed, CFZ-05 stopped for an
    # AE; 5 in maintenance and CFZ-12 (no record yet) are ongoing; CFZ-04, 08, 09 completed
    assert "Discontinued treatment: 3 Progressive disease: 2 Adverse event: 1" in text
    assert "Completed treatment: 3" in text and "Ongoing treatment 6" in text


def test_baseline_by_group(report):
    rows = report[0].sections["baseline"].table_with("Characteristic")
    by = {r["Characteristic"]: r for r in rows}
    assert by["N"] == {"Characteristic": "N", "Group A": "8", "Group B": "4", "Total": "12"}
    # imid_regimen is true exactly for group B in the fixture
    assert by["IMiD-containing regimen: yes"]["Group B"] == "4 (100%)"
    assert by["Dose level: 36"]["Total"] == "3 (25%)"
    # DM.SEX codes spelled out: i % 3 == 0 (CFZ-01, 04, 07, 10) are M
    assert by["Sex: male"]["Total"] == "4 (33%)" and by["Sex: female"]["Group B"] == "3 (75%)"
    assert "Sex: F" not in by


def test_mtd_and_dlts(report):
    section = report[0].sections["dose-escalation"]
    assert "MTD: dose level 27" in section.text
    dlts = section.table_with("Preferred term")
    assert {(r["Subject"], r["Preferred term"]) for r in dlts} == {
        ("CFZ-01", "THROMBOCYTOPENIA"),
        ("CFZ-10", "PNEUMONIA"),
    }


def test_ae_incidence(report):
    table = report[0].sections["adverse-events"].table_with("System organ class")
    rows = {r["Preferred term"] or r["System organ class"]: r for r in table}
    # 6 subjects with a TEAE (CFZ-05's nausea is not treatment-emergent), 12 treated
    assert rows["Any TEAE"]["Any grade"] == "6 (50%)"
    assert rows["THROMBOCYTOPENIA"]["Any grade"] == "2 (17%)"
    assert rows["THROMBOCYTOPENIA"]["Grade ≥3"] == "2 (17%)"
    assert rows["FATIGUE"]["Grade 1"] == "2" and rows["FATIGUE"]["Grade 2"] == "1"
    assert "NAUSEA" not in rows


def test_lab_shift(report):
    """Only what shifted, grouped by test: the test and direction are named on the first
    row of their group; a test where nobody's grade rose is named under the table."""
    section = report[0].sections["lab-shift"]
    rows = section.table_with("Worst post-baseline")
    test = direction = ""
    shifts = {}
    for r in rows:
        test, direction = r["Test"] or test, r["Direction"] or direction
        shifts[(test, direction, r["Baseline"], r["Worst post-baseline"])] = r["Subjects"]
    # CFZ-01 0 -> 4 and CFZ-02 1 -> 3 shifted; CFZ-03 0 -> 0 did not (not listed)
    plat = next(t for t, _, _, _ in shifts if "PLAT" in t)
    assert shifts[(plat, "low (hypo-)", "grade 0", "grade 4")] == "1"
    assert shifts[(plat, "low (hypo-)", "grade 1", "grade 3")] == "1"
    assert (plat, "low (hypo-)", "grade 0", "grade 0") not in shifts
    creat = next(t for t, _, _, _ in shifts if "CREAT" in t)
    assert shifts[(creat, "high (hyper-)", "grade 0", "grade 2")] == "1"
    assert all(int(n) > 0 for n in shifts.values())
    assert not any("SODIUM" in t for t, _, _, _ in shifts)  # never graded


def test_eligibility_listing(report):
    listing = report[0].sections["eligibility"].table_with("Evidence")
    assert [(r["Subject"], r["Criterion"].split(":")[0], r["Status"]) for r in listing] == [
        ("SF01", "E3", "not met"),
        ("SF02", "E6", "not evaluable"),
    ]
    assert "limit 84" in listing[0]["Evidence"]
    assert list(listing[0]) == ["Subject", "Criterion", "Status", "Evidence"]  # fits the page


def test_km_numbers_at_risk(report):
    section = report[0].sections["km"]
    assert len(section.images) == 2
    at_risk = section.table_with("Day 0")
    overall = next(r for r in at_risk if r["Group"] == "Overall")
    assert overall["Day 0"] == "12"
    assert "Time origin: the first study dose" in section.text


def test_compute_at_risk():
    curve = pd.DataFrame({"time": [0, 10, 20], "at_risk": [5, 4, 2]})
    assert [compute_at_risk(curve, t) for t in (0, 5, 10, 15, 20, 25)] == [5, 4, 4, 2, 2, 0]


def test_compute_display_subjects_is_a_fixed_selection_above_the_limit():
    few = pd.Series(["S3", "S1", "S2", "S1"])
    assert compute_display_subjects(few, 3) == {"S1", "S2", "S3"}
    many = pd.Series([f"CFZ-{i:05d}" for i in range(1000)])
    shown = compute_display_subjects(many, 60)
    assert len(shown) == 60 and shown <= set(many)
    # independent of row order (and so of any sort by outcome)
    assert compute_display_subjects(many[::-1], 60) == shown
    # not simply the first or last subjects
    assert shown != set(many[:60]) and shown != set(many[-60:])


def test_large_cohorts_show_a_stated_subset_in_per_subject_figures(
    report_marts, tmp_path, monkeypatch
):
    """Above the lane/line limits the swimmer and spider draw a fixed subset and say how many
    of how many subjects they show (the fixture has 12 treated subjects)."""
    from cfz_platform.report.sections import response

    monkeypatch.setattr(response, "MAX_SWIMMER_LANES", 5)
    monkeypatch.setattr(response, "MAX_SPIDER_LINES", 4)
    parsed = parse_report(build_report(tmp_path).read_text())
    assert "Showing 5 of 12 subjects" in parsed.sections["swimmer"].text
    assert "Showing 4 of " in parsed.sections["spider"].text
    assert (
        len(parsed.sections["swimmer"].images) == 1 and len(parsed.sections["spider"].images) == 1
    )


def test_small_cohorts_show_every_subject(report):
    assert "Showing" not in report[0].sections["swimmer"].text
    assert "Showing" not in report[0].sections["spider"].text


def test_model_section_reads_the_current_scoring_run_only(report):
    """Current run: version 1, p = 0.9 - 0.06 i for CFZ-01..12; responders (label_pr) CFZ-01,
    02, 03, 07, 08, 10. AUC by hand: of the 36 responder/non-responder pairs, the responder
    scores higher in 6 + 6 + 6 + 3 + 3 + 2 = 26 (0.722; the earlier run, version 0, would give
    0.278). At p >= 0.5 CFZ-01..07 are predicted responders: sensitivity 4/6, specificity 3/6."""
    section = report[0].sections["model"]
    metrics = {r["Metric"]: r["Value"] for r in section.table_with("Value")}
    assert metrics["ROC AUC"] == "0.722"
    assert (
        metrics["scored subjects with an observed label"] == "12"
        and metrics["observed responders"] == "6"
    )
    assert (
        metrics["sensitivity at p ≥ 0.5"] == "0.667" and metrics["specificity at p ≥ 0.5"] == "0.5"
    )
    assert "early_response version 1" in section.text and "version 0" not in section.text
    # the honest estimate first: version 1's cross-validated metrics, not version 0's
    cv = {r["Metric"]: r["Cross-validated"] for r in section.table_with("Cross-validated")}
    assert cv["ROC AUC (95% CI)"] == "0.810 (0.700–0.900)"
    assert cv["Calibration slope (95% CI)"] == "0.950 (0.500–1.400)"
    assert cv["Subjects (responders)"] == "12 (6)"
    assert section.text.index("cross-validated performance") < section.text.index("Apparent")


def test_header_says_where_each_part_comes_from(report):
    _, html = report
    assert "marts only" not in html
    for source in ("marts.*", "audit.*", "ml.early_response_predictions"):
        assert source in html


def test_waterfall_spider_swimmer_and_model_figures(report):
    parsed = report[0]
    for sid, n in (
        ("swimmer", 1),
        ("waterfall", 1),
        ("spider", 1),
        ("model", 2),
        ("adverse-events", 1),
    ):
        assert len(parsed.sections[sid].images) == n, sid
    assert "apparent (in-sample)" in parsed.sections["model"].text


def test_data_quality_summary(report):
    section = report[0].sections["data-quality"]
    files = {r["Delivery"]: r for r in section.table_with("Rows rejected")}
    assert (
        files["20260201T020000"]["Rows read"] == "114"
        and files["20260201T020000"]["Rows rejected"] == "2"
    )
    # dm.csv of the first delivery has seen_count 3: two later runs met it again unchanged
    assert (
        files["20260201T020000"]["Files"] == "2"
        and files["20260201T020000"]["Times seen again"] == "2"
    )
    assert files["20260301T020000"]["Times seen again"] == "0"
    assert "sum of seen_count - 1" in section.text
    assert "unparseable date" in section.text and "unknown unit" in section.text
    assert "not available: audit.quality_results has not been built" in section.text


def test_cli_prints_the_report_path(report_marts, tmp_path):
    proc = run_cfz("report", "--out", str(tmp_path / "r"))
    path = proc.stdout.strip().splitlines()[-1]
    assert path == str((tmp_path / "r" / "index.html").resolve())
    assert os.path.getsize(path) > 10_000


@pytest.fixture
def empty_warehouse(cluster, monkeypatch):
    from cfz_platform.db import warehouse

    name = f"t_report_empty_{os.getpid()}"
    warehouse.drop_database(name)
    warehouse.ensure_warehouse(name)
    monkeypatch.setenv("CFZ_WAREHOUSE_DB", name)
    try:
        yield name
    finally:
        monkeypatch.undo()
        warehouse.drop_database(name)


def test_empty_and_partial_warehouse_render_not_available(empty_warehouse, tmp_path):
    """Nothing built: every section says why; then a non-myeloma study (CDISC-pilot-like)."""
    from cfz_platform.db import warehouse

    parsed = parse_report(build_report(tmp_path / "empty").read_text())
    assert all(s.status == "unavailable" for s in parsed.sections.values())
    assert "not available: marts.dim_subject has not been built" in parsed.sections["consort"].text
    assert "model has not been trained yet" in parsed.sections["model"].text

    # only subjects, labs, AEs, vital signs and con-meds exist; the myeloma marts are built
    # but empty
    with warehouse.connect(autocommit=True) as conn:
        build_fixture_marts(conn)
        for table in (
            "fct_response_assessments",
            "fct_best_response",
            "rpt_survival_curves",
            "fct_dose_escalation",
            "rpt_study_endpoints",
            "fct_performance_status",
        ):
            conn.execute(f"truncate marts.{table}")
        conn.execute("drop table marts.fct_time_to_event")
        conn.execute("drop table ml.early_response_predictions")
    parsed = parse_report(build_report(tmp_path / "partial").read_text())
    status = {sid: s.status for sid, s in parsed.sections.items()}
    assert {sid for sid, st in status.items() if st == "ok"} == {
        "consort",
        "baseline",
        "adverse-events",
        "medical-history",
        "disposition",
        "lab-shift",
        "eligibility",
        "data-quality",
        "swimmer",
        "vital-signs",
        "con-meds",
    }
    assert (
        "not available: marts.fct_performance_status has no rows"
        in parsed.sections["performance-status"].text
    )
    assert (
        "not available: marts.fct_response_assessments has no rows"
        in parsed.sections["waterfall"].text
    )
    assert "not available: response markers" in parsed.sections["swimmer"].text  # lanes still drawn
    assert "not available: marts.rpt_survival_curves has no rows" in parsed.sections["km"].text
    assert (
        "not available: marts.fct_dose_escalation has no rows"
        in parsed.sections["dose-escalation"].text
    )


def test_compute_roc_matches_scikit_learn():
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from cfz_platform.report.sections.model import compute_roc

    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 60)
    p = np.round(rng.random(60), 1)  # many ties
    fpr, tpr, auc = compute_roc(y, p)
    assert abs(auc - roc_auc_score(y, p)) < 1e-12
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1


def test_waterfall_uses_each_subjects_driving_parameter(report_marts):
    """CFZ-04 is light-chain only: its waterfall bar is the dFLC change (-30%), not serum."""
    from cfz_platform.db import warehouse
    from cfz_platform.report.data import ReportData
    from cfz_platform.report.marts import MartReader

    with warehouse.connect(autocommit=True) as conn:
        a = ReportData(MartReader(conn)).assessments
    best = a[a["day"] > 1].groupby("usubjid")["pct"].min()
    assert best["CFZ-04"] == pytest.approx(-30.0)
    assert best["CFZ-01"] == pytest.approx(-95.0)
    assert best["CFZ-11"] == pytest.approx(40.0 / 3)  # PD subject: best is the first, smallest rise


@pytest.mark.parametrize(
    ("row", "text"),
    [
        (
            {
                "endpoint": "ORR_PROTOCOL",
                "unit": "proportion",
                "n_subjects": 45,
                "n_count": 27,
                "estimate": 0.6,
                "ci_lower": 0.4433,
                "ci_upper": 0.7430,
            },
            "27/45 = 0.6 (0.443–0.743)",
        ),
        (
            {
                "endpoint": "MEDIAN_TTP",
                "unit": "days",
                "estimate": 113.0,
                "ci_lower": 87.0,
                "ci_upper": 288.0,
                "n_events": 34,
                "n_censored": 11,
            },
            "113 d (87–288); 34 events, 11 censored",
        ),
        (
            {
                "endpoint": "MEDIAN_PFSMAINT",
                "unit": "days",
                "estimate": None,
                "ci_lower": None,
                "ci_upper": None,
                "n_events": 2,
                "n_censored": 3,
            },
            "not reached; 2 events, 3 censored",
        ),
        ({"endpoint": "MTD", "unit": "mg/m2", "estimate": 36.0}, "36 mg/m2"),
        ({"endpoint": "MTD", "unit": "mg/m2", "estimate": None}, "not established"),
        (
            {
                "endpoint": "DLT_COUNT",
                "unit": "count",
                "n_subjects": 15,
                "n_count": 4,
                "estimate": None,
            },
            "4 of 15 evaluable",
        ),
    ],
)
def test_endpoint_cells_read_like_a_results_table(row, text):
    import pandas as pd

    from cfz_platform.report.sections.endpoints import compute_endpoint_cell

    assert compute_endpoint_cell(pd.Series(row)) == text


def test_endpoints_name_their_population_and_group(report):
    """domain.md 4: the report says which population each endpoint counts, which group the
    by-group columns use, and lists the subjects whose assigned and derived groups differ
    (CFZ-09: ARMCD B, derived group A)."""
    section = report[0].sections["endpoints"]
    notes = {r["Endpoint"]: r["Population"] for r in section.table_with("Population")}
    assert notes["ORR, protocol (≥ MR)"] == "response-evaluable (dim_subject.respevalfl)"
    assert notes["ORR, conventional (≥ PR)"] == "response-evaluable (dim_subject.respevalfl)"
    assert "By-group columns use the group as assigned (DM.ARMCD" in section.text
    differ = section.table_with("Group from index regimen")
    assert [(r["Subject"], r["Group"], r["Group from index regimen"]) for r in differ] == [
        ("CFZ-09", "B", "A")
    ]


def test_concordance_of_the_two_evaluators(report):
    """Issue 27: the investigator rated assessments 1-4 of the 12 treated subjects (48) and
    disagrees twice (CFZ-04's 4th: derived MR, investigator PR; CFZ-06's 4th: derived PD,
    investigator SD): 46 of 48 agree; the cross-tab is labelled in words, not codes."""
    section = report[0].sections["concordance"]
    assert section.status == "ok", section.text[:300]
    assert "agree on 46 of 48 assessments (95.8%)" in section.text
    rows = section.table_with("Investigator: Partial response")
    table = {r["Derived response (IMWG, by the platform)"]: r for r in rows}
    assert list(table) == [
        "Complete response",
        "Very good partial response",
        "Partial response",
        "Minimal response",
        "Stable disease",
        "Progressive disease",
        "Total",
    ]
    assert table["Minimal response"]["Investigator: Partial response"] == "1"
    assert table["Minimal response"]["Investigator: Minimal response"] == "3"
    assert table["Progressive disease"]["Investigator: Stable disease"] == "1"
    assert table["Progressive disease"]["Investigator: Progressive disease"] == "3"
    assert table["Stable disease"]["Investigator: Stable disease"] == "28"
    assert table["Partial response"]["Investigator: Partial response"] == "8"
    assert table["Total"]["Total"] == "48"
    header = section.tables[0][0]
    assert not any(c in header for c in ("PR", "investigator_response", "imwg_category"))


def test_vital_signs_weight_bsa_sysbp_and_doses_off_bsa(report):
    """Fixture: CFZ-01..03 at 170 cm weigh 70/80/90 kg in cycle 1 (CFZ-01 68 in cycle 2):
    Mosteller BSA 1.82/1.94/2.06 m2; SYSBP 120 and 140 at baseline, 130 and 136 at C2D1
    (change +10 and -4); CFZ-02's cycle 2 at 15 instead of 20 mg/m2 is the one dose off BSA."""
    section = report[0].sections["vital-signs"]
    assert section.status == "ok", section.text[:300]
    cycles = {r["Cycle"]: r for r in section.table_with("BSA, m²: median (range)")}
    assert cycles["1"]["Subjects"] == "3"
    assert cycles["1"]["BSA, m²: median (range)"] == "1.94 (1.82–2.06)"
    assert cycles["2"]["Weight, kg: median (range)"] == "80.0 (68.0–90.0)"
    bp = {r["Visit"]: r for r in section.table_with("Change from baseline: median (range)")}
    assert list(bp) == ["Baseline", "C2D1"]
    assert bp["Baseline"]["Systolic BP, mmHg: median (range)"] == "130 (120–140)"
    assert bp["C2D1"]["Systolic BP, mmHg: median (range)"] == "133 (130–136)"
    assert bp["C2D1"]["Change from baseline: median (range)"] == "3 (-4–10)"
    listing = section.table_with("Planned dose (mg)")
    assert [(r["Subject"], r["Cycle"]) for r in listing] == [("CFZ-02", "2")]
    assert listing[0]["Planned dose (mg)"] == "38.9" and listing[0]["Dose given (mg)"] == "29.2"
    assert listing[0]["Difference (%)"] == "-25"


def test_con_meds_on_study_use_by_class_and_new_therapy(report):
    """Fixture: aciclovir on study for CFZ-01 and CFZ-02 (2 of 12 treated), ondansetron for
    CFZ-03; the prior bortezomib regimen is not on-study use; CFZ-06's pomalidomide after
    treatment is the one new anti-myeloma therapy."""
    section = report[0].sections["con-meds"]
    assert section.status == "ok", section.text[:300]
    by_class = {r["Medication class"]: r for r in section.table_with("Medication class")}
    assert list(by_class) == ["antiviral", "antiemetic"]
    assert by_class["antiviral"]["Subjects, n (% of treated)"] == "2 (17%)"
    assert (by_class["antiviral"]["Drugs"], by_class["antiemetic"]["Drugs"]) == (
        "ACICLOVIR",
        "ONDANSETRON",
    )
    assert by_class["antiemetic"]["Records"] == "1"
    listing = section.table_with("Drug")
    assert [(r["Subject"], r["Drug"], r["Class"]) for r in listing] == [
        ("CFZ-06", "POMALIDOMIDE", "IMiD")
    ]
    assert "_" not in " ".join(section.tables[0][0] + section.tables[1][0])
