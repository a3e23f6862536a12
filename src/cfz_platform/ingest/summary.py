"""What one ingestion run did, for logs, the Prefect artifact and callers.

Steps: each file's outcome is a ``FileOutcome``; ``IngestSummary`` adds them up (files
loaded / skipped / quarantined, rows read / loaded / rejected, rejects by kind) and renders a
headline, log lines and table rows. File names, reasons and notes are escaped
(``text.escape_text``) wherever they are rendered: a file name holding a newline or a
terminal escape cannot forge or colour an output line.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field

from cfz_platform.ingest.text import escape_text


@dataclass
class FileOutcome:
    rel_path: str
    domain: str | None
    status: str
    file_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    rejects_by_kind: dict[str, int] = field(default_factory=dict)
    reason: str | None = None
    seconds: float = 0.0


@dataclass
class IngestSummary:
    run_id: str
    landing: str
    files: list[FileOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def by_status(self, status: str) -> list[FileOutcome]:
        return [f for f in self.files if f.status == status]

    @property
    def files_loaded(self) -> int:
        return len(self.by_status("loaded"))

    @property
    def files_skipped(self) -> int:
        return len(self.by_status("skipped_duplicate"))

    @property
    def files_quarantined(self) -> int:
        return len(self.by_status("quarantined"))

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_rejected(self) -> int:
        return sum(f.rows_rejected for f in self.files)

    @property
    def rejects_by_kind(self) -> dict[str, int]:
        total: Counter = Counter()
        for f in self.files:
            total.update(f.rejects_by_kind)
        return dict(sorted(total.items()))

    def headline(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in self.rejects_by_kind.items()) or "none"
        rate = (
            f", {self.rows_loaded / self.seconds:,.0f} rows/s"
            if self.seconds and self.rows_loaded
            else ""
        )
        return (
            f"ingest {self.run_id}: files loaded {self.files_loaded}, skipped {self.files_skipped}, "
            f"quarantined {self.files_quarantined}; rows read {self.rows_read:,}, loaded "
            f"{self.rows_loaded:,}, rejected {self.rows_rejected:,} (by reason: {kinds}); "
            f"{self.seconds:.1f} s{rate}"
        )

    def quarantined_paths(self) -> list[str]:
        """The files quarantined by this run (escaped for printing)."""
        return [escape_text(f.rel_path) for f in self.by_status("quarantined")]

    def log_lines(self) -> list[str]:
        lines = [self.headline()]
        for f in self.files:
            if f.status == "quarantined":
                lines.append(
                    f"QUARANTINED {escape_text(f.rel_path)}: {escape_text(f.reason or '')}"
                )
        for note in self.notes:
            lines.append(f"not read: {escape_text(note)}")
        return lines

    def table_rows(self) -> list[dict]:
        """One row per file, for ``prefect.artifacts.create_table_artifact``."""
        return [
            {
                "file": escape_text(f.rel_path),
                "domain": f.domain or "",
                "status": f.status,
                "rows_read": f.rows_read,
                "rows_loaded": f.rows_loaded,
                "rows_rejected": f.rows_rejected,
                "rejects_by_reason": ", ".join(
                    f"{k} {v}" for k, v in sorted(f.rejects_by_kind.items())
                ),
                "reason": escape_text(f.reason or ""),
                "seconds": round(f.seconds, 2),
            }
            for f in self.files
        ]

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "files_loaded": self.files_loaded,
            "files_skipped": self.files_skipped,
            "files_quarantined": self.files_quarantined,
            "rows_read": self.rows_read,
            "rows_loaded": self.rows_loaded,
            "rows_rejected": self.rows_rejected,
            "rejects_by_kind": self.rejects_by_kind,
        }
