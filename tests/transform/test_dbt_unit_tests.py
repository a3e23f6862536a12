"""Every dbt unit test of the project (eligibility windows, cycles, DLT rules, 3+3, IMWG,
confirmation, time-to-event) passes, run by dbt itself against a real PostgreSQL.

The nightly build skips unit tests (they test logic, not data); this module is where they run.
"""

from __future__ import annotations

import pytest

from cfz_platform.transform.dbt_runner import run_dbt


@pytest.fixture(scope="module")
def unit_results(db):
    from cfz_platform.ingest import ensure_raw_layer

    ensure_raw_layer(db)
    run_dbt(["seed"])
    # unit tests need their input relations to exist: build them over the empty raw layer
    run_dbt(["run"])
    result = run_dbt(["test", "--select", "test_type:unit"], raise_on_failure=False)
    return {r.node.name: str(r.status) for r in result.results}


def test_every_unit_test_passes(unit_results):
    failing = {name: status for name, status in unit_results.items() if status != "pass"}
    assert failing == {}


@pytest.mark.parametrize(
    "fragment",
    [
        "e2_window",
        "eligibility_criteria",
        "three_plus_three_mtd_established",
        "three_plus_three_not_established",
        "dlt_rules",
        "imwg_category",
        "imwg_cr_capped",
        "confirmation",
        "tte_event_and_censoring",
        "unlabelled_dose_cycle",
        "cycles_dose_intensity",
    ],
)
def test_the_tricky_rules_are_covered(unit_results, fragment):
    assert any(fragment in name.lower() for name in unit_results), sorted(unit_results)
