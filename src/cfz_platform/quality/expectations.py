"""The platform's own GX expectation: a custom-SQL check whose query runs once.

GX's ``UnexpectedRowsExpectation`` computes two metrics for every validation: the count of
the rows the query returns and the rows themselves (up to 200), and runs the query for each
(two full evaluations of a grouping or anti-join check: LB's unit check took 10.0 + 9.1 s
at 10,000 subjects). With the SUMMARY results the gates ask for, GX reports only the count
and drops the rows, and the gates sample their own offending rows with a ``limit``
(``runner._sample_rows``). ``UnexpectedRowCountExpectation`` is that expectation with the
count alone: same query, same ``{batch}`` parameter, same renderers (inherited, so Data Docs
show it as GX shows its parent), success when the count is 0.
"""

from __future__ import annotations

from typing import Any, ClassVar

from great_expectations.expectations.core.unexpected_rows_expectation import (
    UnexpectedRowsExpectation,
)

from cfz_platform.quality.specs import CUSTOM_SQL_EXPECTATION


class UnexpectedRowCountExpectation(UnexpectedRowsExpectation):
    """The rows of ``unexpected_rows_query`` are failures; only their count is computed."""

    metric_dependencies: ClassVar[tuple[str, ...]] = ("unexpected_rows_query.row_count",)

    def _validate(
        self,
        metrics: dict,
        runtime_configuration: dict | None = None,
        execution_engine: Any = None,
    ) -> dict:
        """Steps: read the row count; success when it is 0; the count is the observed value."""
        count = metrics["unexpected_rows_query.row_count"]
        return {"success": count == 0, "result": {"observed_value": count}}


def expectation_class(name: str) -> type:
    """The GX expectation class a gate spec names: the platform's own, else GX's."""
    import great_expectations.expectations as gxe

    if name == CUSTOM_SQL_EXPECTATION:
        return UnexpectedRowCountExpectation
    return getattr(gxe, name)
