"""The nightly run's summary: per-step timings and outcomes, plus headline tables.

The same summary is printed at the end of ``cfz nightly``, published as Prefect artifacts
and kept in ``audit.nightly_runs`` (one row per run).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import psycopg
from psycopg.types.json import Jsonb


@dataclass
class StepResult:
    """What one step did: status (completed | failed | skipped), time, message, figures."""

    name: str
    status: str
    seconds: float = 0.0
    message: str = ""
    figures: dict = field(default_factory=dict)


@dataclass
class RunSummary:
    """A nightly run from start to end."""

    run_id: str
    landing: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    steps: list[StepResult] = field(default_factory=list)
    tables: dict[str, list[dict]] = field(default_factory=dict)
    outcome: str = "running"  # completed | failed | no-op
    failed_step: str | None = None
    reason: str | None = None

    @property
    def total_seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def step(self, name: str) -> StepResult | None:
        return next((s for s in self.steps if s.name == name), None)

    def render_text(self) -> str:
        """Plain-text summary for the terminal."""
        lines = [f"nightly run {self.run_id}: {self.outcome.upper()}"]
        if self.failed_step:
            lines.append(f"  failed at step '{self.failed_step}': {self.reason}")
        lines.append(f"  {'step':<12} {'status':<10} {'seconds':>8}  detail")
        for s in self.steps:
            lines.append(f"  {s.name:<12} {s.status:<10} {s.seconds:>8.1f}  {s.message}")
        lines.append(f"  {'total':<12} {'':<10} {self.total_seconds:>8.1f}")
        for title, rows in self.tables.items():
            if not rows:
                continue
            lines.append(f"\n  {title}")
            cols = list(rows[0].keys())
            widths = [max(len(str(c)), *(len(_fmt(r.get(c))) for r in rows)) for c in cols]
            lines.append(
                "  " + "  ".join(str(c).ljust(w) for c, w in zip(cols, widths, strict=True))
            )
            for r in rows:
                lines.append(
                    "  "
                    + "  ".join(_fmt(r.get(c)).ljust(w) for c, w in zip(cols, widths, strict=True))
                )
        return "\n".join(lines)

    def render_markdown(self) -> str:
        """Markdown summary for the Prefect artifact."""
        out = [f"# Nightly run `{self.run_id}`: **{self.outcome}**", ""]
        if self.failed_step:
            out += [f"**Failed at step `{self.failed_step}`**: {self.reason}", ""]
        out += ["| step | status | seconds | detail |", "|---|---|---:|---|"]
        out += [f"| {s.name} | {s.status} | {s.seconds:.1f} | {s.message} |" for s in self.steps]
        for title, rows in self.tables.items():
            if not rows:
                continue
            cols = list(rows[0].keys())
            out += ["", f"## {title}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
            out += ["| " + " | ".join(_fmt(r.get(c)) for c in cols) + " |" for r in rows]
        return "\n".join(out)


def _fmt(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def record_run(conn: psycopg.Connection, summary: RunSummary) -> None:
    """Upsert the run into ``audit.nightly_runs``."""
    conn.execute(
        """
        create table if not exists audit.nightly_runs (
            run_id text primary key,
            landing text not null,
            started_at timestamptz not null,
            finished_at timestamptz,
            outcome text not null,
            failed_step text,
            reason text,
            steps jsonb not null
        )
        """
    )
    conn.execute(
        """
        insert into audit.nightly_runs as r
            (run_id, landing, started_at, finished_at, outcome, failed_step, reason, steps)
        values (%s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (run_id) do update set finished_at = excluded.finished_at,
            outcome = excluded.outcome, failed_step = excluded.failed_step,
            reason = excluded.reason, steps = excluded.steps
        """,
        (
            summary.run_id,
            summary.landing,
            summary.started_at,
            summary.finished_at,
            summary.outcome,
            summary.failed_step,
            summary.reason,
            Jsonb(json.loads(json.dumps([asdict(s) for s in summary.steps], default=str))),
        ),
    )
