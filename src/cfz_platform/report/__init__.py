"""The static HTML trial report (``cfz report``), read from the warehouse only.

Where each part comes from: the clinical sections from the published marts (``marts.*``:
dbt models with enforced contracts, and the endpoint tables written by ``cfz_platform.stats``);
the data-quality section from ``audit.*`` (ingestion ledger, rejects, data issues, quality
gates); the model section from ``ml.early_response_predictions`` joined with the features
mart's label. Every section names its source tables on the page. Layout: ``marts`` (reading
by contract column names), ``data`` (frames shared by sections), ``items`` (section and
table), ``figures``, ``sections/*`` (one module per family of sections) and ``build`` (the
assembler).

Public API: :func:`build_report` writes ``<out_dir>/index.html`` and returns its path.
"""

from cfz_platform.report.build import SECTION_IDS, build_report

__all__ = ["SECTION_IDS", "build_report"]
