"""Data quality, from the audit schema: the ingestion ledger, rejected rows, the rows kept
out of the marts and the quality-gate results. Each part is drawn on its own (or says why it
is not available); the section is unavailable only when all four are."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from markupsafe import Markup, escape

from cfz_platform.report.data import ReportData
from cfz_platform.report.items import Section, Table
from cfz_platform.report.marts import Unavailable

SOURCE = "audit.ingest_files, audit.ingest_rejects, audit.data_issues, audit.quality_results"
FILE_COLUMNS = [
    "delivery_id",
    "file_id",
    "status",
    "seen_count",
    "rows_read",
    "rows_loaded",
    "rows_rejected",
]
REJECT_COLUMNS = ["rel_path", "reason"]
ISSUE_COLUMNS = ["domain", "column_name", "issue"]
QUALITY_COLUMNS = ["run_id", "suite", "severity", "success", "checked_at"]
#: Ledger rows of earlier releases: one row per rerun that met an already-processed version.
LEGACY_DUPLICATE = "skipped_duplicate"


def compute_delivery_summary(f: pd.DataFrame) -> pd.DataFrame:
    """Files and rows per delivery from audit.ingest_files.

    Steps: 1. one ledger row per processed file version (loaded or quarantined); 2. per
    delivery: files, loaded, quarantined, the rows read / loaded / rejected; 3.
    ``times_seen_again`` = sum of (seen_count - 1): how many times a later ingest run met a
    file version it had already processed (same path under the landing root, same content:
    a delivery folder sent again unchanged, or the same landing read again) and skipped it,
    counted on the version's original row; legacy ``skipped_duplicate`` rows of older
    ledgers count once each. An identical file in a new delivery folder is a new path, so a
    new version, not counted here.
    """
    legacy = f["status"] == LEGACY_DUPLICATE
    seen_again = (pd.to_numeric(f["seen_count"]).fillna(1) - 1).clip(lower=0)
    f = f.assign(
        version=(~legacy).astype(int),
        loaded=(f["status"] == "loaded").astype(int),
        quarantined=(f["status"] == "quarantined").astype(int),
        seen_again=seen_again.where(~legacy, 1).astype(int),
        **{
            col: pd.to_numeric(f[col]).where(~legacy, 0)
            for col in ("rows_read", "rows_loaded", "rows_rejected")
        },
    )
    return (
        f.groupby("delivery_id")
        .agg(
            files=("version", "sum"),
            loaded=("loaded", "sum"),
            quarantined=("quarantined", "sum"),
            times_seen_again=("seen_again", "sum"),
            rows_read=("rows_read", "sum"),
            rows_loaded=("rows_loaded", "sum"),
            rows_rejected=("rows_rejected", "sum"),
        )
        .reset_index()
    )


def _files(f: pd.DataFrame) -> Table:
    if f.empty:
        return Table(pd.DataFrame({"note": ["no files ingested yet"]}), "audit.ingest_files")
    return Table(
        compute_delivery_summary(f),
        "Files and rows per delivery (audit.ingest_files). times_seen_again: how many times a later "
        "ingest run met one of these files again unchanged (same path, same content) and skipped it, "
        "the sum of seen_count - 1 over the delivery's files.",
    )


def _rejects(f: pd.DataFrame) -> Table:
    if f.empty:
        return Table(pd.DataFrame({"note": ["no rejected rows"]}), "audit.ingest_rejects")
    g = (
        f.groupby(["rel_path", "reason"])
        .size()
        .rename("rows")
        .reset_index()
        .sort_values("rows", ascending=False)
        .head(30)
    )
    return Table(g, f"Rejected rows by file and reason (audit.ingest_rejects; {len(f)} in all).")


def _issues(f: pd.DataFrame) -> Table:
    if f.empty:
        return Table(pd.DataFrame({"note": ["no semantic issues"]}), "audit.data_issues")
    g = (
        f.groupby(ISSUE_COLUMNS)
        .size()
        .rename("rows")
        .reset_index()
        .sort_values("rows", ascending=False)
        .head(30)
    )
    return Table(g, f"Rows kept out of the marts, by problem (audit.data_issues; {len(f)} in all).")


def _quality(f: pd.DataFrame) -> Table:
    """Expectations per suite, severity and success, in each suite's latest run."""
    if f.empty:
        return Table(pd.DataFrame({"note": ["no quality gate has run"]}), "audit.quality_results")
    latest_run = f.sort_values("checked_at").groupby("suite")["run_id"].last()
    f = f[f["run_id"] == f["suite"].map(latest_run)]
    g = f.groupby(["suite", "severity", "success"]).size().rename("expectations").reset_index()
    return Table(g, "Quality-gate results of each suite's latest run (audit.quality_results).")


def build_data_quality(data: ReportData) -> Section:
    """Data quality: deliveries loaded, rejects, semantic issues and quality-gate results.

    Steps: for each of audit.ingest_files, audit.ingest_rejects, audit.data_issues and
    audit.quality_results, a summary table, or a 'not available' line for that part; the
    section is unavailable only when all four are.
    """
    parts: list[tuple[str, list[str], Callable[[pd.DataFrame], Table]]] = [
        ("ingest_files", FILE_COLUMNS, _files),
        ("ingest_rejects", REJECT_COLUMNS, _rejects),
        ("data_issues", ISSUE_COLUMNS, _issues),
        ("quality_results", QUALITY_COLUMNS, _quality),
    ]
    items: list = []
    missing = []
    for table, columns, build in parts:
        try:
            items.append(build(data.reader.table("audit", table, columns, allow_empty=True)))
        except Unavailable as exc:
            missing.append(str(exc))
            items.append(
                Markup(
                    f'<div class="unavailable" data-part="{table}">not available: '
                    f"{escape(str(exc))}</div>"
                )
            )
    if len(missing) == len(parts):
        raise Unavailable("no audit tables yet: " + "; ".join(missing))
    return Section("data-quality", "Data quality", SOURCE, items=items)
