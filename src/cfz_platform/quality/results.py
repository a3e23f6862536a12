"""What a gate run found: per-expectation results, the verdict, and how to explain it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

#: Listing SQL longer than this is not printed inline (it is kept in audit.quality_results).
LISTING_INLINE_MAX = 600


@dataclass
class CheckResult:
    """One evaluated expectation, in the platform's terms."""

    gate: str
    suite: str
    check: str
    expectation: str
    column: str | None
    severity: str
    success: bool
    description: str
    unexpected_count: int | None = None
    sample: list[Any] = field(default_factory=list)
    listing_sql: str | None = None
    error: str | None = None

    def headline(self) -> str:
        count = "" if self.unexpected_count is None else f" ({self.unexpected_count} unexpected)"
        err = f" [error: {self.error}]" if self.error else ""
        return (
            f"{self.severity.upper()} {self.suite} / {self.check}{count}: {self.description}{err}"
        )

    def sample_text(self, limit: int = 5) -> str:
        return json.dumps(self.sample[:limit], default=str)


@dataclass
class GateReport:
    """The results of one gate over one schema."""

    gate: str
    run_id: str
    schema: str
    results: list[CheckResult] = field(default_factory=list)
    data_docs: str | None = None
    #: raw gate: the latest delivery its batch covered (None: no new rows were checked)
    covered_through: str | None = None

    @property
    def blocking_failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity == "blocking"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success and r.severity != "blocking"]

    @property
    def passed(self) -> bool:
        return not self.blocking_failures

    def explain(self, include_warnings: bool = True) -> str:
        """A plain-text account: each failure, a sample of its rows and the SQL to see them all."""
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [
            f"{self.gate} gate on schema {self.schema!r}: {verdict} "
            f"({len(self.results)} expectations, {len(self.blocking_failures)} blocking failures, "
            f"{len(self.warnings)} warnings; run {self.run_id})"
        ]
        shown = self.blocking_failures + (self.warnings if include_warnings else [])
        for r in shown:
            lines.append(f"  - {r.headline()}")
            if r.sample:
                lines.append(f"      rows: {r.sample_text()}")
            if r.listing_sql:
                if len(r.listing_sql) <= LISTING_INLINE_MAX:
                    lines.append(f"      see all rows: {r.listing_sql}")
                else:
                    lines.append(
                        "      see all rows: run the SQL stored in audit.quality_results.listing_sql "
                        f"(run_id = '{self.run_id}', suite = '{r.suite}', expectation = '{r.check}')"
                    )
        if self.data_docs:
            lines.append(f"  Data Docs: {self.data_docs}")
        return "\n".join(lines)

    def markdown(self) -> str:
        """A markdown table of every non-passing expectation (for the Prefect artifact)."""
        verdict = "passed" if self.passed else "**failed**"
        out = [
            f"### {self.gate} gate ({self.schema}): {verdict}",
            "",
            f"{len(self.results)} expectations, {len(self.blocking_failures)} blocking failures, "
            f"{len(self.warnings)} warnings (run `{self.run_id}`).",
            "",
        ]
        bad = self.blocking_failures + self.warnings
        if bad:
            out += [
                "| severity | suite | expectation | column | unexpected | sample |",
                "|---|---|---|---|---|---|",
            ]
            for r in bad:
                sample = r.sample_text(3).replace("|", "\\|")
                out.append(
                    f"| {r.severity} | {r.suite} | {r.check} | {r.column or ''} | "
                    f"{'' if r.unexpected_count is None else r.unexpected_count} | `{sample}` |"
                )
        return "\n".join(out)


class QualityGateFailed(RuntimeError):
    """A blocking expectation failed; the message names each one, its rows and how to see them."""

    def __init__(self, report: GateReport):
        self.report = report
        super().__init__(report.explain())
