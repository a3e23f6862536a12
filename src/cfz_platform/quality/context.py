"""Build the GX 1.x file project under ``expectations/`` from the gate specs, idempotently.

GX's ``add_*`` calls are not idempotent and give random ids, so every object is compared with
what is on disk and only (re)written when it differs (delete-then-add), and suites and
expectations get deterministic ids (uuid5 of their names). Building from scratch twice gives
byte-identical suite files; rebuilding an up-to-date project writes nothing.

Layout (``project_dir`` defaults to ``<project>/expectations``; ``CFZ_GX_PROJECT_DIR``
overrides it, e.g. in tests):
- ``gx/great_expectations.yml``: two PostgreSQL datasources, ``warehouse_raw`` and
  ``warehouse_marts``, whose connection strings are the config variables
  ``${CFZ_GX_RAW_URL}`` / ``${CFZ_GX_MARTS_URL}`` (no password is ever written to disk);
  one query asset per suite with a ``whole_table`` batch definition;
- ``gx/expectations/<gate>_gate.<asset>.json``: the suites (committed, readable);
- ``gx/validation_definitions/``: one per suite;
- ``gx/uncommitted/``: validation results and Data Docs (git-ignored).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cfz_platform.config import adam_schema_for, project_root
from cfz_platform.quality.specs import SuiteSpec

RAW_DATASOURCE = "warehouse_raw"
MARTS_DATASOURCE = "warehouse_marts"
RAW_URL_VAR = "CFZ_GX_RAW_URL"
MARTS_URL_VAR = "CFZ_GX_MARTS_URL"
BATCH_DEFINITION = "whole_table"


def project_dir() -> Path:
    """Folder holding the GX project (``gx/`` inside it)."""
    env = os.environ.get("CFZ_GX_PROJECT_DIR")
    return Path(env) if env else project_root() / "expectations"


def silence_gx() -> None:
    """No usage statistics, ever."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"


def set_connection_env(marts_schema: str = "marts") -> None:
    """Point the config variables of the two datasources at the warehouse.

    Steps: take the owner's SQLAlchemy URL (``postgresql+psycopg://``); the raw datasource
    uses it as is (its queries name ``raw.<domain>``); the mart datasource adds
    ``search_path=<marts_schema>,<its adam schema>`` so the unqualified mart (and ADaM)
    queries read that build.
    """
    from urllib.parse import quote

    from cfz_platform.db import warehouse

    url = warehouse.settings().sqlalchemy_url
    os.environ[RAW_URL_VAR] = url
    os.environ[MARTS_URL_VAR] = (
        f"{url}?options={quote('-csearch_path=' + mart_search_path(marts_schema), safe='')}"
    )


def mart_search_path(marts_schema: str) -> str:
    """The mart gate's search path: the marts schema, then its ADaM schema (adam_candidate
    beside marts_candidate), so the ADaM checks can compare both builds unqualified."""
    return f"{marts_schema},{adam_schema_for(marts_schema)}"


def all_suites() -> list[SuiteSpec]:
    from cfz_platform.quality.mart_gate import mart_gate_suites
    from cfz_platform.quality.raw_gate import raw_gate_suites

    return [*raw_gate_suites(), *mart_gate_suites()]


def datasource_name(spec: SuiteSpec) -> str:
    return RAW_DATASOURCE if spec.gate == "raw" else MARTS_DATASOURCE


def _expectation(spec: SuiteSpec, check) -> Any:
    from cfz_platform.quality.expectations import expectation_class

    cls = expectation_class(check.expectation)
    return cls(
        **check.kwargs,
        description=check.description,
        meta={"severity": check.severity, "check": check.key},
        severity="critical" if check.severity == "blocking" else "warning",
    )


def _suite_payload(suite: Any) -> dict:
    return json.loads(json.dumps(suite.to_json_dict(), sort_keys=True, default=str))


def _ensure_suite(context: Any, spec: SuiteSpec) -> Any:
    """Create or replace the suite when its content differs from the spec; return it."""
    import great_expectations as gx

    wanted = gx.ExpectationSuite(
        name=spec.name, expectations=[_expectation(spec, c) for c in spec.checks]
    )
    wanted.id = spec.suite_id
    for check, exp in zip(spec.checks, wanted.expectations, strict=True):
        exp.id = spec.expectation_id(check)
    try:
        existing = context.suites.get(spec.name)
    except Exception:  # noqa: BLE001 - GX raises various not-found errors
        existing = None
    if existing is not None:
        if _suite_payload(existing) == _suite_payload(wanted):
            return existing
        context.suites.delete(spec.name)
    fresh = gx.ExpectationSuite(
        name=spec.name, expectations=[_expectation(spec, c) for c in spec.checks]
    )
    suite = context.suites.add(fresh)
    suite.id = spec.suite_id
    for check, exp in zip(spec.checks, suite.expectations, strict=True):
        exp.id = spec.expectation_id(check)
    suite.save()
    return suite


def _ensure_datasource(context: Any, name: str, var: str) -> Any:
    try:
        ds = context.data_sources.get(name)
    except Exception:  # noqa: BLE001
        ds = None
    if ds is not None and str(getattr(ds, "connection_string", "")) == f"${{{var}}}":
        return ds
    return context.data_sources.add_or_update_postgres(name=name, connection_string=f"${{{var}}}")


def _ensure_asset(datasource: Any, spec: SuiteSpec) -> Any:
    """The query asset and its whole-table batch definition, recreated only when changed."""
    asset = next((a for a in datasource.assets if a.name == spec.asset.name), None)
    if asset is not None and asset.query != spec.asset.query:
        datasource.delete_asset(spec.asset.name)
        asset = None
    if asset is None:
        asset = datasource.add_query_asset(name=spec.asset.name, query=spec.asset.query)
    bd = next((b for b in asset.batch_definitions if b.name == BATCH_DEFINITION), None)
    if bd is None:
        bd = asset.add_batch_definition_whole_table(BATCH_DEFINITION)
    return bd


def _ensure_validation_definition(
    context: Any, spec: SuiteSpec, batch_definition: Any, suite: Any
) -> Any:
    import great_expectations as gx

    try:
        vd = context.validation_definitions.get(spec.name)
    except Exception:  # noqa: BLE001
        vd = None
    if vd is not None and vd.suite.id == suite.id and vd.data.id == batch_definition.id:
        return vd
    if vd is not None:
        context.validation_definitions.delete(spec.name)
    return context.validation_definitions.add(
        gx.ValidationDefinition(name=spec.name, data=batch_definition, suite=suite)
    )


def build_context(root: Path | None = None, suites: list[SuiteSpec] | None = None) -> Any:
    """Create or update the GX file project; return the context.

    Steps:
    1. silence analytics, make sure the datasource config variables are set (so GX can
       resolve them), open (or create) the file context under ``root``;
    2. turn progress bars off (project variable);
    3. per suite spec: datasource, query asset + batch definition, suite (deterministic
       ids), validation definition, each only rewritten when it differs.
    """
    import great_expectations as gx

    import cfz_platform.quality.expectations  # noqa: F401 - registers the platform's expectation

    silence_gx()
    os.environ.setdefault(RAW_URL_VAR, "postgresql+psycopg://unset@localhost/unset")
    os.environ.setdefault(MARTS_URL_VAR, "postgresql+psycopg://unset@localhost/unset")
    root = Path(root or project_dir())
    root.mkdir(parents=True, exist_ok=True)
    context = gx.get_context(mode="file", project_root_dir=str(root))
    bars = context.variables.progress_bars
    if isinstance(bars, dict):
        bars_off = bars.get("globally") is False
    else:
        bars_off = bars is not None and bars.globally is False
    if not bars_off:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        context.variables.save()
    datasources = {
        RAW_DATASOURCE: _ensure_datasource(context, RAW_DATASOURCE, RAW_URL_VAR),
        MARTS_DATASOURCE: _ensure_datasource(context, MARTS_DATASOURCE, MARTS_URL_VAR),
    }
    for spec in suites if suites is not None else all_suites():
        bd = _ensure_asset(datasources[datasource_name(spec)], spec)
        suite = _ensure_suite(context, spec)
        _ensure_validation_definition(context, spec, bd, suite)
    return context


def suite_files(root: Path | None = None) -> dict[str, bytes]:
    """The committed suite files of a project, name -> bytes (for idempotency checks)."""
    folder = Path(root or project_dir()) / "gx" / "expectations"
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.json"))}
