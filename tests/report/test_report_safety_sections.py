"""The ECOG, medical-history and disposition sections, against numbers worked by hand from
the fixture marts (tests/report/marts_fixture.py: ``ECOG``, ``HISTORY``, ``_disposition``).

12 treated subjects: group A is CFZ-01..08 (8), group B CFZ-09..12 (4); all 12 are enrolled,
the two screen failures are not.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from cfz_platform.report import build_report
from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Table, compute_population_columns
from cfz_platform.report.labels import compute_column_label
from cfz_platform.report.marts import MartReader, Unavailable
from cfz_platform.report.sections.disposition import derive_discontinued_listing
from cfz_platform.report.sections.flow import build_consort
from cfz_platform.report.sections.medical_history import compute_min_subjects, derive_history_rows
from cfz_platform.report.sections.performance_status import build_performance_status
from tests.report.html_parse import parse_report

A, B, TOTAL = "Group A (N=8)", "Group B (N=4)", "Total (N=12)"


@pytest.fixture(scope="module")
def html(report_marts, tmp_path_factory):
    return build_report(tmp_path_factory.mktemp("report")).read_text()


@pytest.fixture(scope="module")
def sections(html):
    return parse_report(html).sections


def _keyed(rows: list[dict], *keys: str) -> dict[tuple, dict]:
    """Rows by the given columns, the blank cells of a block filled from the row above."""
    out, last = {}, dict.fromkeys(keys, "")
    for r in rows:
        for k in keys[:-1]:
            last[k] = r[k] or last[k]
        out[(*(last[k] for k in keys[:-1]), r[keys[-1]])] = r
    return out


def test_ecog_baseline_worst_and_change_by_group(sections):
    """Baseline 0: CFZ-01, 03, 07 (A) and 10 (B); CFZ-12 has no row, so it is missing at
    baseline and on study; CFZ-08 has no assessment after its first dose."""
    section = sections["performance-status"]
    assert section.status == "ok" and "Source: marts.fct_performance_status" in section.text
    rows = _keyed(section.table_with("Time point"), "Time point", "ECOG")
    base0 = rows[("Baseline", "0 – fully active")]
    assert (base0[A], base0[B], base0[TOTAL]) == ("3 (38%)", "1 (25%)", "4 (33%)")
    assert rows[("Baseline", "Missing")][TOTAL] == "1 (8%)"
    assert rows[("Baseline", "2 – ambulatory, self-care, unable to work")][B] == "1 (25%)"
    assert rows[("Worst on study", "4 – completely disabled")][B] == "1 (25%)"
    assert rows[("Worst on study", "No assessment after first dose")][TOTAL] == "2 (17%)"
    change = "Change, baseline to worst"
    assert rows[(change, "Worsened")][TOTAL] == "5 (42%)"
    assert rows[(change, "Worsened")][A] == "3 (38%)"
    assert rows[(change, "Unchanged")][TOTAL] == "4 (33%)"
    assert rows[(change, "Improved")][A] == "1 (12%)"
    assert rows[(change, "Not evaluable (a value missing)")][TOTAL] == "2 (17%)"


def test_ecog_shift_table_baseline_by_worst(sections):
    table = sections["performance-status"].table_with("Baseline ECOG")
    rows = {r["Baseline ECOG"]: r for r in table}
    assert list(rows) == [
        "0 – fully active",
        "1 – restricted in strenuous activity",
        "2 – ambulatory, self-care, unable to work",
        "3 – limited self-care",
        "4 – completely disabled",
        "Missing",
        "Total",
    ]
    worst = ["Worst 0", "Worst 1", "Worst 2", "Worst 3", "Worst 4"]
    none, total = "No assessment after first dose", "Total"
    one = rows["1 – restricted in strenuous activity"]
    assert [one[c] for c in [*worst, none, total]] == ["0", "1", "1", "1", "1", "1", "5"]
    zero = rows["0 – fully active"]
    assert [zero[c] for c in [*worst, none, total]] == ["2", "2", "0", "0", "0", "0", "4"]
    assert rows["Missing"][none] == "1" and rows["Missing"][total] == "1"
    assert [rows["Total"][c] for c in [*worst, none, total]] == [
        "2",
        "4",
        "2",
        "1",
        "1",
        "2",
        "12",
    ]


def test_medical_history_by_body_system_and_group(sections):
    """Treated subjects' baseline conditions only: SF01 (never treated) and CFZ-04's DVT
    (after the first dose) do not count; CFZ-02's hypertension recorded twice counts once."""
    section = sections["medical-history"]
    assert section.status == "ok" and "Source: marts.fct_medical_history" in section.text
    table = section.table_with("Body system")
    rows = _keyed(table, "Body system", "Condition")
    anyc = rows[("Any baseline condition", "")]
    assert (anyc[A], anyc[B], anyc[TOTAL]) == ("3 (38%)", "2 (50%)", "5 (42%)")
    assert rows[("Any condition ongoing at baseline", "")][TOTAL] == "4 (33%)"
    hypertension = rows[("VASCULAR DISORDERS", "HYPERTENSION")]
    assert (hypertension[A], hypertension[B], hypertension[TOTAL]) == (
        "2 (25%)",
        "1 (25%)",
        "3 (25%)",
    )
    assert rows[("METABOLISM AND NUTRITION DISORDERS", "All conditions")][B] == "0 (0%)"
    assert rows[("Body system not coded", "BACK PAIN")][TOTAL] == "1 (8%)"
    assert "DEEP VEIN THROMBOSIS" not in section.text and "UNCODED" not in section.text
    # body systems by subjects (3, 2, 1); conditions within a system by subjects then name
    systems = [r["Body system"] for r in table if r["Condition"] == "All conditions"]
    assert systems == [
        "VASCULAR DISORDERS",
        "METABOLISM AND NUTRITION DISORDERS",
        "Body system not coded",
    ]
    conditions = [r["Condition"] for r in table]
    assert conditions.index("HYPERCHOLESTEROLAEMIA") < conditions.index("TYPE 2 DIABETES MELLITUS")


def test_disposition_end_of_treatment_and_study_by_group(sections):
    """End of treatment: CFZ-06 and CFZ-11 progressed, CFZ-05 stopped for an AE; CFZ-04, 08
    and 09 completed; the maintenance subjects and CFZ-12 (no record) are ongoing. End of
    study: CFZ-11 died; the other 11 enrolled are ongoing."""
    section = sections["disposition"]
    assert section.status == "ok" and "Source: marts.fct_disposition" in section.text
    rows = _keyed(section.table_with("Milestone"), "Milestone", "Status", "Reason")
    eot, eos = "End of treatment (treated subjects)", "End of study (enrolled subjects)"
    assert rows[(eot, "Completed", "")][TOTAL] == "3 (25%)"
    disc = rows[(eot, "Discontinued", "")]
    assert (disc[A], disc[B], disc[TOTAL]) == ("2 (25%)", "1 (25%)", "3 (25%)")
    assert rows[(eot, "Discontinued", "Progressive disease")][TOTAL] == "2 (17%)"
    assert rows[(eot, "Discontinued", "Adverse event")][A] == "1 (12%)"
    assert rows[(eot, "Discontinued", "Adverse event")][B] == "0 (0%)"
    assert rows[(eot, "Ongoing", "")][TOTAL] == "6 (50%)"
    assert rows[(eos, "Discontinued", "Death")][B] == "1 (25%)"
    assert rows[(eos, "Ongoing", "")][A] == "8 (100%)"
    assert rows[(eos, "Completed", "")][TOTAL] == "0 (0%)"
    listing = section.table_with("Treatment reason")
    assert [(r["Subject"], r["Treatment reason"], r["Study reason"]) for r in listing] == [
        ("CFZ-05", "Adverse event", ""),
        ("CFZ-06", "Progressive disease", ""),
        ("CFZ-11", "Progressive disease", "Death"),
    ]
    assert listing[2]["Study ended"] == "2026-06-04"
    assert "DISCONTINUED" not in section.text and "None" not in section.text


def test_dates_and_counts_stay_on_one_line(html):
    """A date or an 'n (%)' cell is never broken at its hyphens or space (it was, in the
    narrow columns of the listings: '2025-' over '04-09')."""
    assert '<td class="nowrap">2026-06-04</td>' in html  # CFZ-11's end of study
    assert '<td class="nowrap">5 (42%)</td>' in html
    assert '<td class="nowrap">CFZ-05</td>' not in html


def test_adverse_events_point_to_the_recorded_discontinuation_reasons(sections):
    """CFZ-10's pneumonia is the only AE whose action was DRUG WITHDRAWN, yet DS records
    CFZ-05 as stopped for an adverse event: the AE section says how it counts and where the
    recorded reasons are."""
    text = sections["adverse-events"].text
    assert "action taken (AEACN) is DRUG WITHDRAWN" in text and "in Disposition" in text


def test_a_listing_may_break_after_a_slash_between_words():
    """'NOT RECOVERED/NOT RESOLVED' and 'RECOVERED/RESOLVED' (AE outcome) were one unbreakable
    word each and pushed the serious-AE listing past the page's right edge."""
    html = Table(pd.DataFrame({"aeout": ["RECOVERED/RESOLVED"]}), "c", css="data listing").html()
    assert "RECOVERED/<wbr>RESOLVED" in html and "</td>" in html and "<wbr>td" not in html


def test_a_study_without_groups_shows_the_total_alone():
    """The CDISC pilot has none of this trial's groups: a 'No group' column beside the
    total repeated it, number for number."""
    one = pd.DataFrame({"usubjid": ["S1", "S2", "S3"], "group": ["no group"] * 3})
    assert compute_population_columns(one) == {"Total (N=3)": {"S1", "S2", "S3"}}
    two = one.assign(group=["A", "B", "B"])
    assert list(compute_population_columns(two)) == [
        "Group A (N=1)",
        "Group B (N=2)",
        "Total (N=3)",
    ]


def test_a_long_history_lists_only_the_conditions_of_several_subjects():
    """The CDISC pilot's ~500 baseline conditions made a 14,700-pixel table: above MAX_ROWS
    rows a condition needs more subjects for its own row; body systems always show."""
    mh = pd.DataFrame(
        {
            "usubjid": ["S1", "S2", "S3", "S1", "S2"],
            "_system": ["SKIN"] * 5,
            "_condition": ["RASH", "RASH", "RASH", "ACNE", "ECZEMA"],
            "_ongoing": [True, False, False, False, False],
        }
    )
    treated = pd.DataFrame({"usubjid": ["S1", "S2", "S3", "S4"], "group": ["no group"] * 4})
    # fixed rows: 2 'any' rows + 1 body system; every condition: 3 more (6 > 5); k=2: 1 more
    assert compute_min_subjects(mh, max_rows=6) == 1
    assert compute_min_subjects(mh, max_rows=5) == 2
    rows = derive_history_rows(treated, mh, min_subjects=2)
    assert list(rows["Condition"]) == ["", "", "All conditions", "RASH"]
    assert list(rows["Total (N=4)"]) == ["3 (75%)", "1 (25%)", "3 (75%)", "3 (75%)"]


def test_ecog_without_any_value_is_not_available(db, report_marts):
    """A study that collects no ECOG (the CDISC pilot) has a row per treated subject and
    every value null: the section says so instead of a table of zeros."""
    with db.transaction(force_rollback=True):
        db.execute(
            "update marts.fct_performance_status "
            "set ecog_baseline = null, ecog_worst_post = null, ecog_shift = null"
        )
        with pytest.raises(Unavailable, match="no ECOG value for any treated subject"):
            build_performance_status(ReportData(MartReader(db)))


def test_the_discontinued_listing_names_groups_only_when_the_study_has_them():
    subjects = pd.DataFrame(
        {
            "usubjid": ["S1", "S2"],
            "group": ["no group"] * 2,
            "treated": [True, True],
            "enrolled": [True, True],
            "eotstt": ["DISCONTINUED", "COMPLETED"],
            "dctreas": ["LACK OF EFFICACY", None],
            "eotdt": [None, None],
            "eosstt": ["ONGOING", "COMPLETED"],
            "dcsreas": [None, None],
            "eosdt": [None, None],
        }
    )
    listing = derive_discontinued_listing(subjects)
    assert "Group" not in listing and list(listing["Treatment reason"]) == ["Lack of efficacy"]
    assert "Group" in derive_discontinued_listing(subjects.assign(group=["A", "B"]))


def test_dose_escalation_states_the_mtd_once(sections):
    """mtd_status and mtd_reason are study-level: repeated on each dose level's row they
    wrapped into a narrow column four times over; the headline says them once."""
    section = sections["dose-escalation"]
    assert "MTD: dose level 27 (MTD is 27 mg/m2)" in section.text
    rows = section.table_with("Treated")
    assert "MTD status" not in rows[0] and "Reason" not in rows[0]
    assert [r["Dose level (mg/m²)"] for r in rows] == ["20", "27", "36"]


def test_single_word_column_names_are_labels_too(sections):
    """'domain', 'issue' (and the gate table's 'suite', 'severity', 'success') were shown as
    the column names themselves."""
    rows = sections["data-quality"].table_with("Issue")
    assert list(rows[0])[:3] == ["Domain", "Column name", "Issue"]
    assert compute_column_label("severity") == "Severity"
    assert compute_column_label("success") == "Passed"
    assert compute_column_label("Already labelled") == "Already labelled"


def test_consort_of_a_study_without_groups_has_no_group_split(db, report_marts):
    """The CDISC pilot's CONSORT said 'group no group: 254' under Treated."""
    with db.transaction(force_rollback=True):
        db.execute('update marts.dim_subject set "group" = null')
        section = build_consort(ReportData(MartReader(db)))
    html = str(section.items[0])
    assert "no group" not in html and 'data-stage="treated"' in html


def test_consort_of_a_study_without_myeloma_baseline_data_says_eligibility_not_assessed(
    db, report_marts
):
    """Fixture: 14 screened, 12 enrolled. With every baseline myeloma value emptied (as in the
    CDISC pilot) this protocol's criteria were not assessed: no 'Eligible' count, no failed
    criteria, and the 2 screened who were not enrolled are counted; one subject's measurable
    disease type is enough for the counts to come back."""
    empty = (
        "update marts.dim_subject set measurable_disease_type = null, baseline_serum_m = null, "
        "baseline_urine_m = null, baseline_involved_flc = null"
    )
    with db.transaction(force_rollback=True):
        db.execute(empty)
        text = " ".join(
            re.sub(r"<[^>]+>", " ", str(build_consort(ReportData(MartReader(db))).items[0])).split()
        )
    assert "Eligibility not assessed under this protocol" in text
    assert "Screened 14" in text and "Screened, not enrolled: 2" in text and "Enrolled 12" in text
    assert "Eligible" not in text.replace("Eligibility", "") and "not met" not in text
    with db.transaction(force_rollback=True):
        db.execute(empty)
        db.execute(
            "update marts.dim_subject set measurable_disease_type = 'serum' where usubjid = 'CFZ-01'"
        )
        text = " ".join(
            re.sub(r"<[^>]+>", " ", str(build_consort(ReportData(MartReader(db))).items[0])).split()
        )
    assert "Eligible 12" in text and "not assessed" not in text
