"""Build the dbt project (seeds, staging, intermediate, marts, tests) into a marts schema.

``build_marts`` is the reusable core of ``cfz transform``: the quality gates and the safe
publish call it with a candidate schema; the plain command calls it with ``marts``.
``underivable_endpoints`` then says which myeloma endpoints the data could not support.
"""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager
from dataclasses import dataclass, replace

from psycopg import sql

from cfz_platform.db import warehouse
from cfz_platform.transform import build_state
from cfz_platform.transform.dbt_runner import DbtError, DbtResult, run_dbt, seed_only_tests

log = logging.getLogger(__name__)


#: Test-only pause point (see ``_hold_for_test``): the path of a file the build waits for.
HOLD_ENV = "CFZ_TEST_HOLD_BUILD"


def build_marts(
    marts_schema: str = "marts",
    full_refresh: bool = False,
    select: list[str] | None = None,
    unit_tests: bool = True,
    through_file_id: int | None = None,
) -> DbtResult:
    """Run ``dbt build`` (seeds included on a full build) with ``var marts_schema``,
    incrementally when it can.

    The ADaM datasets (models/adam) are built beside the marts, into
    ``config.adam_schema_for(marts_schema)`` (``marts`` -> ``adam``, ``marts_candidate`` ->
    ``adam_candidate``).

    dbt unit tests check the SQL logic on fixed inputs, not the data: they run in CI
    (tests/transform, tests/response, the default here); the production build of the
    candidate (``pipeline.build_candidate``: nightly, ``cfz transform``) passes
    ``unit_tests=False`` (they cost ~15 s of fixed time per build and test no data).

    Steps:
    1. make sure the raw layer exists (ingestion's ``ensure_raw_layer``), so a warehouse with
       no deliveries yet still builds (empty marts);
    2. plan the build (``build_state.plan_build``): raw is read up to the upper watermark
       ``through_file_id`` (the transform fixes it before its raw gate; else the file raw is
       complete through now), full or incremental; incremental since the file ids recorded
       for ``staging`` and ``marts_schema`` when both were built with this exact dbt project,
       else a full refresh (also when ``full_refresh`` is asked for); a full refresh first
       forgets the states of the schemas it writes (staging, the marts, their ADaM schema),
       so a build that fails half-way is never taken as a baseline;
    3. full build only: the seeds (reference data: aliases, units, drugs, CTCAE criteria)
       load inside ``dbt build``, before the models that read them; an incremental build has
       the same seed files (they are in the fingerprint) and skips reloading them;
    4. ``dbt build`` (models and data tests in DAG order; unit tests only when asked) with the
       marts schema var and the plan's watermark vars;
    5. on success of a whole-project build (no ``select``), record the new state of the
       three schemas (the watermark read); return the DbtResult (raises ``DbtError`` naming the
       failing nodes).
    dbt's connections run with JIT off and the DDL lock timeout (``_session_options``): a DDL
    statement that waits longer for a table lock fails the build with a ``DbtError`` naming
    the sessions holding locks on the mart schemas.
    """
    from cfz_platform.ingest import ensure_raw_layer

    with warehouse.connect(autocommit=True) as conn:
        ensure_raw_layer(conn)
    from cfz_platform.config import adam_schema_for

    dbt_vars: dict = {"marts_schema": marts_schema, "adam_schema": adam_schema_for(marts_schema)}
    fingerprint = build_state.compute_project_fingerprint()
    with warehouse.connect(autocommit=True) as conn:
        plan = build_state.plan_build(conn, marts_schema, fingerprint, through_file_id)
        if full_refresh:
            plan = replace(plan, full_refresh=True, reason="full refresh asked for")
        if plan.full_refresh:
            for schema in build_state.built_schemas(marts_schema):
                build_state.drop_state(conn, schema)
    log.info(
        "dbt build of %s: %s (raw through file %d)", marts_schema, plan.reason, plan.through_file_id
    )
    _hold_for_test()
    try:
        with _session_options():
            result = _seed_and_build(
                {**dbt_vars, **plan.dbt_vars()}, plan.full_refresh, select, unit_tests
            )
    except DbtError as exc:
        if "lock timeout" not in str(exc):
            raise
        from cfz_platform.transform.publish import explain_lock_timeout

        raise DbtError(
            explain_lock_timeout(f"dbt build of {marts_schema}", exc) + f"\n{exc}"
        ) from exc
    if not select:
        with warehouse.connect(autocommit=True) as conn:
            build_state.record_build(conn, marts_schema, plan)
    return result


def _hold_for_test(timeout: float = 600.0) -> None:
    """TEST ONLY: pause the build where a concurrent ingest must not leak into it.

    When ``CFZ_TEST_HOLD_BUILD`` names a file, write ``<file>.waiting`` and wait (at most
    ``timeout`` seconds) until the file exists. The concurrency tests use it to ingest a
    delivery deterministically after the watermark is fixed and before dbt reads raw. Unset
    (always, outside tests) it does nothing.
    """
    hold = os.environ.get(HOLD_ENV)
    if not hold:
        return
    import time
    from pathlib import Path

    Path(hold + ".waiting").write_text(str(os.getpid()))
    deadline = time.monotonic() + timeout
    while not Path(hold).exists() and time.monotonic() < deadline:
        time.sleep(0.2)


@contextmanager
def _session_options():
    """Session settings of dbt's connections (libpq ``PGOPTIONS``), restored afterwards.

    - ``jit=off``: the models are many mid-sized set-based statements: JIT compiles ~100
      functions per statement (seconds each, more once ``jit_optimize_above_cost`` is crossed
      on large trials) and gains nothing;
    - ``lock_timeout``: dbt's DDL (drop, rename, create index) waits at most
      ``warehouse.ddl_lock_timeout()`` for a table lock, so a BI session idle in a
      transaction on an old table cannot stall the build without limit.
    """
    before = os.environ.get("PGOPTIONS")
    timeout = warehouse.ddl_lock_timeout().replace(" ", "")
    os.environ["PGOPTIONS"] = f"{before or ''} -c jit=off -c lock_timeout={timeout}".strip()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("PGOPTIONS", None)
        else:
            os.environ["PGOPTIONS"] = before


def _seed_and_build(
    dbt_vars: dict, full_refresh: bool, select: list[str] | None, unit_tests: bool
) -> DbtResult:
    """``dbt build`` (seeds first, in DAG order, on a full build); an incremental build (same
    project fingerprint, hence the same seed files) leaves the loaded seeds alone, and the
    data tests on seeds alone (22 of 72, which the full build ran on those very rows). (A
    separate ``dbt seed`` before the full build loaded every seed twice: one more dbt
    start-up.)"""
    excluded = [] if unit_tests else ["unit_test"]
    if not full_refresh:
        excluded.append("seed")
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if excluded:
        args += ["--exclude-resource-type", *excluded]
    if select:
        args += ["--select", *select]
    seed_tests = [] if full_refresh else seed_only_tests()
    if seed_tests:
        args += ["--exclude", *seed_tests]
    return run_dbt(args, vars=dbt_vars, gated_build=True)


@dataclass(frozen=True)
class EndpointGap:
    """A myeloma endpoint the data cannot support, and why."""

    endpoint: str
    reason: str


def underivable_endpoints(marts_schema: str = "marts") -> list[EndpointGap]:
    """List the myeloma endpoints that could not be derived from the data in ``marts_schema``.

    Steps: count, in the marts and staging, the inputs each endpoint needs (study drug
    cycles, prior-therapy records, M-protein labs, dose-escalation cohort, investigator
    responses) and name every endpoint whose inputs are absent.
    """
    checks = [
        (
            "eligibility E1-E5 (prior bortezomib regimen)",
            "select count(*) from staging.stg_sdtm__cm where is_prior_myeloma_therapy",
            "no CM records of category PRIOR MYELOMA THERAPY",
        ),
        (
            "eligibility E6, ISS stage, baseline M-protein / FLC (measurable disease)",
            "select count(*) from staging.stg_sdtm__lb where is_usable and lbtestcd in ('MPROTEIN', 'KLCFR', 'LLCFR', 'B2MICG')",
            "no M-protein, free light chain or beta-2 microglobulin results in LB",
        ),
        (
            "cycles, dose intensity, final-assessment date (carfilzomib)",
            "select count(*) from {marts}.fct_cycles",
            "no carfilzomib administrations in EX",
        ),
        (
            "DLTs and 3+3 dose escalation / MTD",
            "select count(*) from {marts}.fct_dose_escalation",
            "no treated subjects in the ESCALATION cohort (DM.COHORT, DM.DOSELVL)",
        ),
        (
            "IMWG response, ORR, best response, TTP",
            "select count(*) from staging.stg_sdtm__rs where rstestcd = 'OVRLRESP'",
            "no investigator overall responses (RS OVRLRESP)",
        ),
    ]
    gaps: list[EndpointGap] = []
    with warehouse.connect() as conn:
        for endpoint, query, reason in checks:
            q = (
                sql.SQL(query.replace("{marts}", "{}")).format(sql.Identifier(marts_schema))
                if "{marts}" in query
                else sql.SQL(query)
            )
            try:
                n = conn.execute(q).fetchone()[0]
            except Exception as exc:  # noqa: BLE001 - a missing relation means the endpoint is absent
                conn.rollback()
                gaps.append(EndpointGap(endpoint, f"not built ({type(exc).__name__})"))
                continue
            if not n:
                gaps.append(EndpointGap(endpoint, reason))
    return gaps
