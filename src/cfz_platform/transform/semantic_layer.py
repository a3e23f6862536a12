"""The dbt semantic layer (MetricFlow) on the published marts: ``cfz mf`` and ``query_metrics``.

The semantic models and metrics live in ``dbt/models/semantic/`` (ORR both ways, BOR counts,
DLT rate, TEAE incidence by grade, TTP events; dimensions group, dose level, cohort). MetricFlow's
``mf`` command reads the dbt profile and ``<project>/target/semantic_manifest.json``, a fixed
path inside the project folder; the platform's dbt runs write their artifacts per warehouse
(``.cfz/dbt/<database>/target``), so several warehouses (the tests', a developer's) never share
them. ``prepare_project`` therefore gives MetricFlow a project folder of the warehouse's own
whose entries link to the dbt project and whose ``target`` holds the semantic manifest parsed
for the ``warehouse`` target: metrics read the published ``marts``, what BI reads.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from cfz_platform.config import dbt_project_dir
from cfz_platform.transform.dbt_runner import DbtError, run_dbt, write_profiles

#: target folder (inside the warehouse's) of the parse whose semantic manifest MetricFlow reads
PARSE_SUBDIR = "semantic-layer"
#: what the dbt project folder holds that is not generated (the links of MetricFlow's folder)
PROJECT_ENTRIES = ("dbt_project.yml", "models", "macros", "seeds", "tests")


@dataclass(frozen=True)
class MetricRows:
    """A MetricFlow result: column names and rows."""

    columns: list[str]
    rows: list[tuple]

    def records(self) -> list[dict]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def prepare_project() -> tuple[Path, Path]:
    """The (profiles folder, project folder) MetricFlow runs with, for the current warehouse.

    Steps:
    1. write the warehouse's dbt profile (default target ``warehouse``: the published schemas);
    2. ``dbt parse --target warehouse`` into a target folder of its own (partial parsing keeps
       later parses to a couple of seconds); a parse error raises ``DbtError``;
    3. ``<profiles>/mf``: one symbolic link per entry of the dbt project (``PROJECT_ENTRIES``),
       and ``target/semantic_manifest.json`` copied from the parse.
    """
    profiles = write_profiles()
    run_dbt(["parse", "--target", "warehouse", "--quiet"], target_subdir=PARSE_SUBDIR)
    manifest = profiles / "target" / PARSE_SUBDIR / "semantic_manifest.json"
    if not manifest.exists():
        raise DbtError(f"dbt parse wrote no semantic manifest ({manifest})")
    project = profiles / "mf"
    (project / "target").mkdir(parents=True, exist_ok=True)
    for name in PROJECT_ENTRIES:
        link, source = project / name, dbt_project_dir() / name
        if link.is_symlink() and link.resolve() == source.resolve():
            continue
        if link.is_symlink() or link.is_file():
            link.unlink()
        elif link.is_dir():
            shutil.rmtree(link)
        link.symlink_to(source)
    shutil.copyfile(manifest, project / "target" / "semantic_manifest.json")
    return profiles, project


def compute_mf_environment(profiles: Path, project: Path) -> dict[str, str]:
    """The environment ``mf`` runs in: dbt's profile and project folders, no telemetry."""
    return {
        **os.environ,
        "DBT_PROFILES_DIR": str(profiles),
        "DBT_PROJECT_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "MF_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def query_metrics(
    metrics: list[str], group_by: list[str] | None = None, where: list[str] | None = None
) -> MetricRows:
    """Query metrics through MetricFlow (the engine ``mf query`` runs) on the published marts.

    Steps:
    1. prepare MetricFlow's project folder (``prepare_project``);
    2. set up MetricFlow's CLI configuration on it (its dbt adapter connects to the warehouse);
    3. run the query request (metrics, group-by names such as ``subject__analysis_group``,
       where filters in MetricFlow's Jinja syntax) and return its columns and rows.
    """
    from dbt_metricflow.cli.cli_configuration import CLIConfiguration
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    profiles, project = prepare_project()
    cfg = CLIConfiguration()
    cfg.setup(dbt_profiles_path=profiles, dbt_project_path=project, configure_file_logging=False)
    request = MetricFlowQueryRequest.create(
        metric_names=metrics,
        group_by_names=group_by or [],
        where_constraints=where or None,
        order_by_names=group_by or None,
    )
    result = cfg.mf.query(mf_request=request).result_df
    return MetricRows(list(result.column_names), [tuple(r) for r in result.rows])


def explain_metrics(metrics: list[str], group_by: list[str] | None = None) -> str:
    """The SQL MetricFlow runs for ``metrics`` grouped by ``group_by`` (``mf query --explain``)."""
    from dbt_metricflow.cli.cli_configuration import CLIConfiguration
    from metricflow.engine.metricflow_engine import MetricFlowQueryRequest

    profiles, project = prepare_project()
    cfg = CLIConfiguration()
    cfg.setup(dbt_profiles_path=profiles, dbt_project_path=project, configure_file_logging=False)
    request = MetricFlowQueryRequest.create(metric_names=metrics, group_by_names=group_by or [])
    return cfg.mf.explain(mf_request=request).sql_statement.without_descriptions.sql
