"""Run a gate: GX validations in PostgreSQL, then the platform's verdict and explanations.

Nothing here pulls a table into Python: GX computes every metric in SQL over the query assets
(column expectations return at most ``PARTIAL_COUNT`` example values/keys; custom-SQL
expectations at most GX's 200-row cap), and the sample rows we show are fetched with a
``limit``.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from cfz_platform.config import adam_schema_for
from cfz_platform.db import warehouse
from cfz_platform.quality import context as gx_context
from cfz_platform.quality.results import CheckResult, GateReport
from cfz_platform.quality.specs import (
    CUSTOM_SQL_EXPECTATION,
    Check,
    SuiteSpec,
    sql_list,
    substitute_batch,
)

log = logging.getLogger(__name__)

PARTIAL_COUNT = 20
SAMPLE_ROWS = 5
#: Mart queries are unqualified; their listing says which schema they read (quoted identifier).
SEARCH_PATH_PREFIX = sql.SQL("set search_path to {}; ")


class UnknownSchemaError(ValueError):
    """The schema to validate does not exist; the message says which and what to do."""


GATES = ("raw", "mart")


def suites_for(gate: str) -> list[SuiteSpec]:
    from cfz_platform.quality.mart_gate import mart_gate_suites
    from cfz_platform.quality.raw_gate import raw_gate_suites

    if gate == "raw":
        return raw_gate_suites()
    if gate == "mart":
        return mart_gate_suites()
    raise ValueError(f"unknown gate {gate!r}: use one of {GATES}")


def _table_exists(conn: psycopg.Connection, table: str) -> bool:
    return conn.execute("select to_regclass(%s) is not null", (table,)).fetchone()[0]


def _listing_sql(spec: SuiteSpec, check: Check, asset_query: str | None = None) -> str | None:
    """SQL a person can run to see every offending row of ``check`` (None: nothing to list).

    ``asset_query`` replaces the suite's asset (the raw gate lists over all current records,
    not over the night's batch table, which the next run replaces). Values in these
    statements come from the specs (reference data), never from feeds.
    """
    kw = check.kwargs
    asset_query = asset_query or spec.asset.query
    base = f"select b.* from ({asset_query}) b"
    col = kw.get("column")
    if check.expectation == CUSTOM_SQL_EXPECTATION:
        return substitute_batch(kw["unexpected_rows_query"], asset_query)
    if check.expectation == "ExpectColumnValuesToNotBeNull":
        return f"{base} where b.{col} is null"
    if check.expectation == "ExpectColumnValuesToBeInSet":
        return f"{base} where b.{col} is not null and b.{col}::text not in ({sql_list([str(v) for v in kw['value_set']])})"
    if check.expectation == "ExpectColumnValuesToBeBetween":
        conds = []
        if kw.get("min_value") is not None:
            conds.append(
                f"b.{col} {'<=' if kw.get('strict_min') else '<'} {float(kw['min_value'])!r}"
            )
        if kw.get("max_value") is not None:
            conds.append(
                f"b.{col} {'>=' if kw.get('strict_max') else '>'} {float(kw['max_value'])!r}"
            )
        return f"{base} where {' or '.join(conds)}"
    if check.expectation == "ExpectColumnValuesToBeUnique":
        return (
            f"{base} where b.{col} in (select x.{col} from ({asset_query}) x "
            f"group by x.{col} having count(*) > 1) order by b.{col}"
        )
    if check.expectation == "ExpectCompoundColumnsToBeUnique":
        cols = ", ".join(kw["column_list"])
        bcols = ", ".join(f"b.{c}" for c in kw["column_list"])
        return (
            f"{base} where ({bcols}) in (select {cols} from ({asset_query}) x "
            f"group by {cols} having count(*) > 1) order by {bcols}"
        )
    return None


def _sample_rows(conn: psycopg.Connection, listing: str) -> list[dict]:
    """Up to SAMPLE_ROWS rows of a listing query (the limit runs in PostgreSQL)."""
    with conn.transaction(), conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(
            sql.SQL("select * from ({}) as listing limit {}").format(sql.SQL(listing), SAMPLE_ROWS)
        )
        return [dict(r) for r in cur.fetchall()]


def _error_message(res: Any) -> str | None:
    info = res.exception_info or {}
    if info.get("raised_exception"):
        return str(info.get("exception_message"))[:500]
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message"))[:500]
    return None


def _to_result(
    gate: str, spec: SuiteSpec, res: Any, conn: psycopg.Connection, schema: str
) -> CheckResult:
    meta = res.expectation_config.meta or {}
    check = spec.check_by_key(meta.get("check", ""))
    if check is None:  # an expectation not from our specs (hand-edited suite): keep it, as blocking
        check = Check(
            meta.get("check", res.expectation_config.type),
            res.expectation_config.type,
            dict(res.expectation_config.kwargs),
            meta.get("severity", "blocking"),
            res.expectation_config.description or res.expectation_config.type,
        )
    body = res.result or {}
    error = _error_message(res)
    if check.expectation == CUSTOM_SQL_EXPECTATION:
        count = body.get("observed_value")
        sample: list[Any] = []
    else:
        count = body.get("unexpected_count")
        sample = (
            body.get("partial_unexpected_index_list") or body.get("partial_unexpected_list") or []
        )
        if not sample and body.get("observed_value") is not None and not res.success:
            sample = [{"observed_value": body.get("observed_value")}]
    listing = None
    if not res.success and error is None:
        listing = _listing_sql(spec, check)
        if check.expectation == CUSTOM_SQL_EXPECTATION and listing:
            try:
                sample = _sample_rows(conn, listing)  # over the batch: cheap
            except psycopg.Error as exc:  # the listing is for people; never hide the failure itself
                log.warning("could not sample rows of %s/%s: %s", spec.name, check.key, exc)
        if gate == "raw":
            from cfz_platform.quality.raw_gate import current_query

            listing = _listing_sql(spec, check, current_query(spec.asset.name))
        if listing and gate != "raw":
            listing = (
                SEARCH_PATH_PREFIX.format(
                    sql.SQL(", ").join(sql.Identifier(x) for x in (schema, adam_schema_for(schema)))
                ).as_string(conn)
                + listing
            )
    return CheckResult(
        gate=gate,
        suite=spec.name,
        check=check.key,
        expectation=res.expectation_config.type,
        column=check.column,
        severity=check.severity,
        success=bool(res.success),
        description=check.description,
        unexpected_count=None if count is None else int(count),
        sample=sample,
        listing_sql=listing,
        error=error,
    )


def _missing_table(gate: str, spec: SuiteSpec, schema: str) -> CheckResult:
    return CheckResult(
        gate=gate,
        suite=spec.name,
        check="table_exists",
        expectation="table_exists",
        column=None,
        severity="blocking",
        success=False,
        description=f"table {spec.asset.table} exists in schema {schema!r}",
        error=f"{spec.asset.table} is missing from {schema!r}",
    )


def check_schema(marts_schema: str) -> None:
    """The mart schema must exist (it is only ever passed to SQL as an identifier)."""
    with warehouse.connect(autocommit=True) as conn:
        found = conn.execute(
            "select 1 from pg_namespace where nspname = %s", (marts_schema,)
        ).fetchone()
    if found is None:
        raise UnknownSchemaError(
            f"schema {marts_schema!r} does not exist in the warehouse: pass an existing mart schema "
            "with --schema (marts, or marts_candidate after a build)"
        )


#: Gate runs whose GX validation results (and Data Docs pages) are kept on disk; the
#: durable record of every run is ``audit.quality_results`` in the warehouse.
KEEP_DOCS_RUNS_DEFAULT = 7


def keep_docs_runs() -> int:
    """How many recent gate runs keep their GX results and pages (``CFZ_GX_KEEP_RUNS``)."""
    return max(1, int(os.environ.get("CFZ_GX_KEEP_RUNS", KEEP_DOCS_RUNS_DEFAULT)))


def prune_validation_results(base: Path, keep_runs: int) -> int:
    """Delete the stored GX validation results (and their Data Docs pages) of all but the
    ``keep_runs`` newest runs of each gate; return how many result files went.

    GX's Data Docs index reads every stored result on each build, so without a limit every
    nightly's docs cost more than the one before (about 5 s for 470 results on this machine).
    Steps: 1. group the result files ``uncommitted/validations/<gate>/<table>/<run name>/
    <run time>/<batch>.json`` by gate and run name, newest file first; 2. keep the
    ``keep_runs`` newest run names per gate; 3. delete the others' files and their rendered
    pages under ``data_docs/local_site/validations``, then the emptied folders.
    """
    import shutil

    store = base / "uncommitted" / "validations"
    site = base / "uncommitted" / "data_docs" / "local_site" / "validations"
    runs: dict[tuple[str, str], float] = {}
    for f in store.rglob("*.json"):
        parts = f.relative_to(store).parts
        if len(parts) < 4:
            continue
        key = (parts[0], parts[-3])
        runs[key] = max(runs.get(key, 0.0), f.stat().st_mtime)
    by_gate: dict[str, list[tuple[float, str]]] = {}
    for (gate, run_name), mtime in runs.items():
        by_gate.setdefault(gate, []).append((mtime, run_name))
    removed = 0
    for gate, entries in by_gate.items():
        stale = {name for _, name in sorted(entries, reverse=True)[keep_runs:]}
        if not stale:
            continue
        for top in (store / gate, site / gate):
            for folder in [d for d in top.rglob("*") if d.is_dir() and d.name in stale]:
                if top == store / gate:
                    removed += sum(1 for _ in folder.rglob("*.json"))
                shutil.rmtree(folder, ignore_errors=True)
    return removed


def build_run_docs(
    context: Any, run_name: str, suites: list[SuiteSpec], root: Path | None = None
) -> str | None:
    """Render the Data Docs pages of one gate run; return the site's index URL.

    Steps: 0. keep the GX results of the ``keep_docs_runs()`` newest runs per gate only
    (``prune_validation_results``: the index reads them all); 1. the validation results
    stored under ``run_name`` (this run's, not every run's since the project was created:
    rebuilding all of them made the docs grow with history);
    2. the suites whose page is missing or older than their JSON file (changed checks);
    3. ``build_data_docs`` over those identifiers, and the index.
    """
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    base = Path(root or gx_context.project_dir()) / "gx"
    pruned = prune_validation_results(base, keep_docs_runs())
    if pruned:
        log.info("GX results of older gate runs removed from disk: %d files", pruned)
    site = base / "uncommitted" / "data_docs" / "local_site" / "expectations"
    ids: list[Any] = [
        k
        for k in context.validation_results_store.list_keys()
        if getattr(k.run_id, "run_name", None) == run_name
    ]
    for spec in suites:
        page = site.joinpath(*spec.name.split(".")).with_suffix(".html")
        source = base.joinpath("expectations", *spec.name.split(".")).with_suffix(".json")
        if not page.exists() or (source.exists() and source.stat().st_mtime > page.stat().st_mtime):
            ids.append(ExpectationSuiteIdentifier(name=spec.name))
    sites = context.build_data_docs(resource_identifiers=ids)
    return next(iter(sites.values()), None)


def run_gate(
    gate: str,
    marts_schema: str = "marts",
    run_id: str | None = None,
    root: Path | None = None,
    build_docs: bool = True,
    through_file_id: int | None = None,
) -> GateReport:
    """Validate the raw layer (``gate='raw'``) or a mart schema (``gate='mart'``).

    Steps:
    1. point the GX datasources at the warehouse (mart queries read ``marts_schema``) and
       build/refresh the GX project (idempotent);
    2. raw gate: materialize the batches of new deliveries (``raw_gate.prepare_batches``), up
       to the build's upper watermark ``through_file_id`` (None: every loaded file);
    3. per suite: if its table is missing, record a blocking ``table_exists`` failure;
       otherwise run its validation definition with SUMMARY results (bounded examples,
       natural keys of offending rows, GX's SQL to list them);
    4. turn GX results into ``CheckResult``s, sampling a few offending rows of each failing
       custom-SQL expectation in PostgreSQL;
    5. build the Data Docs of this run (git-ignored, under the project's ``uncommitted/``;
       ``build_run_docs``).
    """
    from great_expectations.core.run_identifier import RunIdentifier

    run_id = run_id or uuid.uuid4().hex[:12]
    schema = "raw" if gate == "raw" else marts_schema
    if gate != "raw":
        check_schema(marts_schema)
    gx_context.set_connection_env(marts_schema)
    suites = suites_for(gate)
    context = gx_context.build_context(root, suites=suites)
    report = GateReport(gate=gate, run_id=run_id, schema=schema)
    with warehouse.connect(autocommit=True) as conn:
        from cfz_platform.quality.mart_gate import ADAM_TABLES

        adam_schema = adam_schema_for(marts_schema)
        conn.execute(
            sql.SQL("set search_path to {}, {}, public").format(
                sql.Identifier(marts_schema), sql.Identifier(adam_schema)
            )
        )
        if gate == "raw":
            from cfz_platform.quality.raw_gate import prepare_batches

            report.covered_through = prepare_batches(conn, suites, through_file_id)
        for spec in suites:
            home = adam_schema if spec.asset.table in ADAM_TABLES else marts_schema
            parts = (
                spec.asset.table.split(".") if "." in spec.asset.table else [home, spec.asset.table]
            )
            table = sql.Identifier(*parts).as_string(conn)
            if not _table_exists(conn, table):
                report.results.append(_missing_table(gate, spec, schema))
                continue
            vd = context.validation_definitions.get(spec.name)
            result = vd.run(
                result_format={
                    "result_format": "SUMMARY",
                    "partial_unexpected_count": PARTIAL_COUNT,
                    "unexpected_index_column_names": list(spec.asset.key_columns),
                    "return_unexpected_index_query": True,
                },
                run_id=RunIdentifier(run_name=f"{gate}-{run_id}"),
            )
            for res in result.results:
                report.results.append(_to_result(gate, spec, res, conn, schema))
    if build_docs:
        try:
            report.data_docs = build_run_docs(context, f"{gate}-{run_id}", suites, root)
        except Exception as exc:  # noqa: BLE001 - docs are a convenience, not the verdict
            log.warning("could not build GX Data Docs: %s", exc)
    log.info(
        "%s gate: %d expectations, %d blocking failures, %d warnings",
        gate,
        len(report.results),
        len(report.blocking_failures),
        len(report.warnings),
    )
    return report
