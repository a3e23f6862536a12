"""The static HTML trial report, built from the published marts only (``cfz report``).

Public API: :func:`build_report` writes ``<out_dir>/index.html`` and returns its path.
"""

from cfz_platform.report.build import SECTION_IDS, build_report

__all__ = ["SECTION_IDS", "build_report"]
