"""int_exposure__cycle_bsa finds each cycle's weight and height by joins on the subject, not by
a correlated lookup per cycle (issue 29).

Its three lateral subqueries (latest weight, latest height on or before day 1, first height)
scanned every WEIGHT and HEIGHT record of the study once per cycle: 6,120 cycles x 9,094
records took 33 s at 1,000 subjects, and a hundred times that at 10,000. A lateral subquery
can only run as a nested loop, so with nested loops switched off the plan of the compiled
full-build SQL (EXPLAIN on a copy of the built default trial) must have none. The values
are checked by the marts and ADaM tests (fct_cycle_bsa against the simulator's truth,
unchanged).
"""

from __future__ import annotations

import pytest

from cfz_platform.transform.dbt_runner import run_dbt, write_profiles

pytestmark = pytest.mark.slow

MODEL = "intermediate/exposure/int_exposure__cycle_bsa.sql"


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse: str) -> str:
    """This module's warehouse is a copy of the session's built default trial."""
    return trial_warehouse


def test_cycle_bsa_needs_no_nested_loop(db):
    run_dbt(["compile", "--select", "int_exposure__cycle_bsa"])
    sql = (write_profiles() / "target" / "compiled" / "cfz" / "models" / MODEL).read_text()
    with db.transaction():
        db.execute("set local enable_nestloop = off")
        plan = "\n".join(r[0] for r in db.execute("explain " + sql).fetchall())
    assert "Nested Loop" not in plan, plan
