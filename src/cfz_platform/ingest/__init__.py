"""Ingestion: landing deliveries (feeds.md) into the append-only raw layer, with a ledger.

Public API:
- ``run_ingest(landing) -> IngestSummary``: one run over a landing root (no Prefect needed);
- ``ensure_raw_layer(conn)``: create the audit tables and the contract raw tables if missing.

Modules: ``contract`` (feeds.md as data), ``discovery`` (deliveries and files), ``readers``
(CSV, CSV.GZ, XPT), ``validation`` (header and row structure), ``schema`` (DDL), ``loader``
(COPY, one transaction per file), ``ledger`` (audit.ingest_files, run lock), ``summary``.
"""

from cfz_platform.ingest.run import IngestError, run_ingest
from cfz_platform.ingest.schema import ensure_raw_layer
from cfz_platform.ingest.summary import FileOutcome, IngestSummary

__all__ = ["FileOutcome", "IngestError", "IngestSummary", "ensure_raw_layer", "run_ingest"]
