"""Quality gates (Great Expectations 1.x) over the raw layer and the marts.

Public API:
- ``run_gate(gate, marts_schema)`` -> ``GateReport``: ``gate`` is ``raw`` or ``mart``;
- ``build_context(root)``: create/update the GX file project under ``expectations/``;
- ``record_report(conn, report)`` / ``publish_artifact(report)``: audit table, Prefect artifact;
- ``QualityGateFailed``: raised by the pipeline when a blocking expectation fails.

Modules: ``specs`` (suites and checks as data), ``raw_gate`` / ``mart_gate`` (the checks),
``reference`` (terminology and limits), ``context`` (GX project), ``runner`` (validation and
explanations), ``results`` (report objects), ``audit`` (persistence).
"""

from cfz_platform.quality.audit import ensure_quality_results, publish_artifact, record_report
from cfz_platform.quality.context import build_context
from cfz_platform.quality.results import CheckResult, GateReport, QualityGateFailed
from cfz_platform.quality.runner import run_gate

__all__ = [
    "CheckResult",
    "GateReport",
    "QualityGateFailed",
    "build_context",
    "ensure_quality_results",
    "publish_artifact",
    "record_report",
    "run_gate",
]
