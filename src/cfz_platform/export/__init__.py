"""Exports of published data for statisticians and regulators (``cfz export ...``)."""

from cfz_platform.export.adam import AdamExportError, ExportResult, export_adam

__all__ = ["AdamExportError", "ExportResult", "export_adam"]
