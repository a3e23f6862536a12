"""The eligibility criteria's labels in the report (CONSORT exclusions and the eligibility
section): the id, with the criterion's text when the mart has one."""

from __future__ import annotations

import pandas as pd

from cfz_platform.report.sections.eligibility import derive_criterion_label


def test_each_row_gets_its_criterions_label_in_place():
    rows = pd.DataFrame(
        {
            "usubjid": ["S-3", "S-1", "S-2", "S-1", "S-4"],
            "criterion_id": ["E3", "E3", "I1", "E5", "I1"],
            "criterion": ["bortezomib-resistant", "bortezomib-resistant", "  ", None, "  "],
            "status": ["not_met", "met", "not_evaluable", "not_met", "met"],
        },
        index=[10, 11, 12, 13, 14],
    )
    labelled = derive_criterion_label(rows)
    # blank or missing text: the id alone; rows, order and index as they came
    assert labelled["criterion_id"].tolist() == [
        "E3: bortezomib-resistant",
        "E3: bortezomib-resistant",
        "I1",
        "E5",
        "I1",
    ]
    assert labelled.index.tolist() == [10, 11, 12, 13, 14]
    assert labelled["usubjid"].tolist() == ["S-3", "S-1", "S-2", "S-1", "S-4"]
    assert labelled["status"].tolist() == rows["status"].tolist()


def test_a_mart_without_criterion_text_labels_by_id():
    rows = pd.DataFrame({"usubjid": ["S-1"], "criterion_id": ["E7"], "status": ["not_met"]})
    assert derive_criterion_label(rows)["criterion_id"].tolist() == ["E7"]


def test_no_rows_no_labels():
    empty = pd.DataFrame(columns=["usubjid", "criterion_id", "criterion", "status"])
    assert derive_criterion_label(empty).empty
