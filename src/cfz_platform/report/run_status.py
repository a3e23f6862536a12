"""Whether the latest nightly failed, and how old the data the report shows is.

When the newest row of ``audit.nightly_runs`` is a failed run, the report says so at its top
(run, time, step, reason) and that its data is the last good build: when that build was
made and the last loaded file it includes (``audit.build_state`` of ``marts``, the ledger).
"""

from __future__ import annotations

from dataclasses import dataclass

from cfz_platform.report.marts import MartReader


@dataclass(frozen=True)
class NightlyFailure:
    """The latest nightly run, failed, and the published build the report shows instead."""

    run_id: str
    started_at: str
    failed_step: str
    reason: str
    built_at: str | None
    through_file_id: int | None
    through_file: str | None

    def headline(self) -> str:
        return (
            f"The latest nightly run ({self.run_id}, started {self.started_at}) failed at step "
            f"'{self.failed_step}': {self.reason}"
        )

    def data_as_of(self) -> str:
        if self.built_at is None:
            return "No build has been published yet: the sections below have no data to show."
        through = f"file {self.through_file_id}" + (
            f" ({self.through_file})" if self.through_file else ""
        )
        return (
            f"The data shown is as of the last good build: built {self.built_at}, "
            f"raw through {through}."
        )


def _utc(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def compute_nightly_failure(reader: MartReader) -> NightlyFailure | None:
    """The latest nightly run when it failed, with the last good build; else None.

    Steps: no ``audit.nightly_runs`` or a latest run that did not fail -> None; read the
    published build's time and watermark (``audit.build_state`` row ``marts``) and the
    watermark file's path from the ledger."""
    if not reader.exists("audit", "nightly_runs"):
        return None
    conn = reader.conn
    latest = conn.execute(
        "select run_id, started_at at time zone 'UTC', outcome, failed_step, reason "
        "from audit.nightly_runs order by started_at desc limit 1"
    ).fetchone()
    if latest is None or latest[2] != "failed":
        return None
    built_at = through = path = None
    if reader.exists("audit", "build_state"):
        row = conn.execute(
            "select built_at at time zone 'UTC', through_file_id from audit.build_state "
            "where schema_name = 'marts'"
        ).fetchone()
        if row:
            built_at, through = row
            found = conn.execute(
                "select rel_path from audit.ingest_files where file_id = %s", (through,)
            ).fetchone()
            path = found[0] if found else None
    return NightlyFailure(
        run_id=latest[0],
        started_at=_utc(latest[1]),
        failed_step=latest[3] or "unknown",
        reason=latest[4] or "no reason recorded",
        built_at=_utc(built_at) if built_at is not None else None,
        through_file_id=through,
        through_file=path,
    )
