"""The IMWG dbt models, their unit tests, and the endpoint tables, in a throwaway warehouse.

Runs dbt for real: the unit tests in models/intermediate/response/_response__unit_tests.yml
(every IMWG rule and PD edge, confirmation, TTP/PFS censoring), then builds the efficacy
marts on an empty raw layer and writes rpt_study_endpoints / rpt_survival_curves.
"""

from __future__ import annotations

import pytest

from cfz_platform.stats import write_endpoint_tables
from cfz_platform.stats.endpoints import compute_endpoint_rows
from cfz_platform.transform.dbt_runner import run_dbt


@pytest.fixture(scope="module")
def built(db):
    from cfz_platform.ingest.schema import ensure_raw_layer

    ensure_raw_layer(db)
    # cautious: only the tests whose every parent is selected (not relationships to unbuilt marts)
    return run_dbt(
        [
            "build",
            "--select",
            "+fct_best_response",
            "+fct_time_to_event",
            "+fct_response_assessments",
            "--indirect-selection",
            "cautious",
        ],
        gated_build=True,  # the module's own warehouse: it builds the published schemas there
    )


def test_imwg_unit_tests_pass(built):
    names = {
        r.node.name: str(r.status) for r in built.results if r.node.resource_type == "unit_test"
    }
    assert {
        "imwg_category_every_rule_and_pd_edge",
        "imwg_confirmation_rules",
        "tte_event_and_censoring_rules",
        "imwg_cr_capped_reason_recorded",
    } <= set(names)
    assert all(s == "pass" for s in names.values()), names


def test_endpoint_tables_are_written_with_stable_types(built, db):
    tables = write_endpoint_tables(db, "marts")
    cols = db.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' and table_name like 'rpt_%' order by 1, ordinal_position"
    ).fetchall()
    types = {(t, c): d for t, c, d in cols}
    assert types[("rpt_study_endpoints", "estimate")] == "double precision"
    assert types[("rpt_survival_curves", "n_at_risk")] == "integer"
    assert isinstance(tables.endpoints, list)


def test_endpoint_rows_hand_worked():
    best = [
        {
            "grp": "A",
            "best_response": c,
            "is_responder": c in ("CR", "VGPR", "PR"),
            "is_clinical_benefit": c in ("CR", "VGPR", "PR", "MR"),
        }
        for c in ("CR", "PR", "MR", "SD", "PD")
    ]
    tte = [
        {"grp": "A", "paramcd": "TTP", "aval": a, "cnsr": c}
        for a, c in ((10, 0), (20, 1), (30, 0), (40, 0))
    ]
    rows = {(r[0], r[1]): r for r in compute_endpoint_rows(best, tte, None).endpoints}
    orr = rows[("ORR_PROTOCOL", "OVERALL")]
    assert orr[2:4] == (5, 3) and orr[6] == pytest.approx(0.6)  # CR, PR, MR of 5
    assert rows[("ORR_CONVENTIONAL", "GROUP A")][3] == 2  # CR, PR
    # KM: S(10) = 3/4, S(30) = 3/4 * 1/2 = 0.375 -> median 30; 3 events, 1 censored
    med = rows[("MEDIAN_TTP", "OVERALL")]
    assert med[6] == 30 and med[4] == 3 and med[5] == 1


def test_endpoint_rows_count_only_the_response_evaluable():
    """domain.md 4: a waiver (treated, not eligible, so respevalfl false) has a best response and
    a TTP row, but no endpoint counts it: ORR 1/2, MEDIAN_TTP over 2 subjects with 1 event. Each
    row names its population; group rows say which group they use."""
    best = [
        {
            "grp": "A",
            "best_response": "PR",
            "is_responder": True,
            "is_clinical_benefit": True,
            "respevalfl": True,
        },
        {
            "grp": "A",
            "best_response": "SD",
            "is_responder": False,
            "is_clinical_benefit": False,
            "respevalfl": True,
        },
        {
            "grp": "B",
            "best_response": "VGPR",
            "is_responder": True,
            "is_clinical_benefit": True,
            "respevalfl": False,
        },
    ]
    tte = [
        {"grp": "A", "paramcd": "TTP", "aval": 30, "cnsr": 0, "respevalfl": True},
        {"grp": "A", "paramcd": "TTP", "aval": 60, "cnsr": 1, "respevalfl": True},
        {"grp": "B", "paramcd": "TTP", "aval": 10, "cnsr": 0, "respevalfl": False},
    ]
    rows = {(r[0], r[1]): r for r in compute_endpoint_rows(best, tte, None, "assigned").endpoints}
    assert rows[("ORR_CONVENTIONAL", "OVERALL")][2:4] == (2, 1)
    assert rows[("MEDIAN_TTP", "OVERALL")][2] == 2 and rows[("MEDIAN_TTP", "OVERALL")][4] == 1
    assert ("ORR_CONVENTIONAL", "GROUP B") not in rows and ("MEDIAN_TTP", "GROUP B") not in rows
    assert rows[("ORR_CONVENTIONAL", "OVERALL")][12:] == ("response-evaluable", "respevalfl", None)
    assert rows[("ORR_CONVENTIONAL", "GROUP A")][12:] == (
        "response-evaluable",
        "respevalfl",
        "assigned",
    )
