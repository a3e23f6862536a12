"""Endpoint statistics: Kaplan-Meier (Greenwood, log-log CI), Clopper-Pearson, endpoint tables.

``write_endpoint_tables(conn, marts_schema)`` is called by the transform pipeline after
``dbt build``; it reads the efficacy marts and writes ``rpt_study_endpoints`` and
``rpt_survival_curves`` into the same schema.
"""

from cfz_platform.stats.binomial import compute_clopper_pearson
from cfz_platform.stats.endpoints import write_endpoint_tables
from cfz_platform.stats.km import KaplanMeier, compute_kaplan_meier

__all__ = [
    "KaplanMeier",
    "compute_clopper_pearson",
    "compute_kaplan_meier",
    "write_endpoint_tables",
]
