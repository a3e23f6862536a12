"""Run dbt programmatically against the platform's warehouse.

The profile is generated from the same settings as every other command (embedded cluster or
``CFZ_DATABASE_URL``), so nothing needs configuring by hand. It is written to
``.cfz/dbt/<database>/profiles.yml`` (git-ignored, mode 0600), with the same two targets as
the committed ``dbt/profiles.yml``: ``warehouse`` (the pipeline's schemas, the default here)
and ``dev`` (``dev_*`` schemas, the default of ``cfz dbt``), plus ``cut`` (``cut_build_*``
schemas: where ``cfz cut create`` builds an analysis cut, ``transform.cut``).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from cfz_platform.config import dbt_project_dir, state_dir
from cfz_platform.db import warehouse
from cfz_platform.transform.dbt_sessions import sessions_kept_open

log = logging.getLogger(__name__)


class DbtError(RuntimeError):
    """A dbt command failed; the message lists the failing nodes."""


@dataclass
class DbtResult:
    success: bool
    failures: list[str]
    results: list


#: Vars that change on every incremental build (the file-id watermarks, macros/incremental.sql
#: ``watermark_var``): passed as environment variables ``CFZ_DBT_<NAME>``, never ``--vars``.
#: dbt re-parses the whole project when ``--vars`` change (20-30 s of a loaded 2-core machine),
#: and only the files that read a changed environment variable at parse time.
WATERMARK_VARS = ("staging_since_file_id", "marts_since_file_id", "raw_through_file_id")
DEV_SCHEMA = "dev"  # the dev target builds into dev_staging, dev_marts, ... (generate_schema_name)
CUT_SCHEMA = "cut_build"  # the cut target builds into cut_build_staging, ... (transform.cut)
#: Set (to 1) only while the transform's build runs dbt: without it, dbt's on-run-start hook
#: (macros/published_schemas.sql) stops any writing command on a target other than dev.
GATED_BUILD_ENV = "CFZ_DBT_GATED_BUILD"
#: dbt commands that write tables (``test`` only with --store-failures).
WRITING_COMMANDS = ("build", "run", "seed", "snapshot", "clone", "retry", "run-operation")


def write_profiles(threads: int = 4) -> Path:
    """Write profiles.yml for the current warehouse; return its folder."""
    s = warehouse.settings()
    folder = state_dir() / "dbt" / s.dbname
    folder.mkdir(parents=True, exist_ok=True)
    output = {
        "type": "postgres",
        "host": s.host,
        "port": s.port,
        "user": s.user,
        "password": s.password,
        "dbname": s.dbname,
        "schema": "staging",
        "threads": threads,
        "connect_timeout": 10,
    }
    profile = {
        "cfz": {
            "target": "warehouse",
            "outputs": {
                "warehouse": output,
                "dev": {**output, "schema": DEV_SCHEMA},
                "cut": {**output, "schema": CUT_SCHEMA},
            },
        }
    }
    path = folder / "profiles.yml"
    path.write_text(yaml.safe_dump(profile))
    path.chmod(0o600)
    return folder


def seed_only_tests() -> list[str]:
    """Names of the data tests whose every parent is a seed, from the warehouse's last manifest.

    Steps: read ``<target>/manifest.json`` that the last dbt command on this warehouse wrote
    (none yet: no names); keep the test nodes whose ``depends_on`` nodes are all seeds.
    An incremental build leaves the seeds alone (same project fingerprint, so the same seed
    files, loaded and tested by the full build that started the chain), so these tests
    cannot give a new result there.
    """
    path = state_dir() / "dbt" / warehouse.settings().dbname / "target" / "manifest.json"
    if not path.exists():
        return []
    nodes = json.loads(path.read_text()).get("nodes", {})
    return sorted(
        n["name"]
        for n in nodes.values()
        if n.get("resource_type") == "test"
        and n["depends_on"]["nodes"]
        and all(d.startswith("seed.") for d in n["depends_on"]["nodes"])
    )


def file_log_level() -> str:
    """dbt's level for its log file (``<profiles>/logs/dbt.log``): ``debug`` (every SQL
    statement it sends, ~4% of a small build's CPU) under ``cfz --verbose``, else ``info``
    (each node's start and result, warnings, errors). The SQL of every model and test is in
    ``<target>/run`` either way; ``DBT_LOG_LEVEL_FILE`` or ``--log-level-file`` overrides."""
    return "debug" if logging.getLogger("cfz_platform").isEnabledFor(logging.DEBUG) else "info"


def watermark_env(name: str) -> str:
    """The environment variable carrying watermark var ``name`` (macros/incremental.sql)."""
    return f"CFZ_DBT_{name.upper()}"


def compute_published_write(args: list[str]) -> str | None:
    """The dbt command of ``args`` when it would write the pipeline's schemas, else None.

    Steps: the command is the first argument that is not an option (``source freshness``,
    ``docs generate``: the first word); the target is the value of ``--target``/``-t``
    (``--target=X`` too), the generated profile's default ``warehouse`` when absent; a
    writing command (``WRITING_COMMANDS``, or ``test --store-failures``) on any target but
    ``dev`` writes them.
    """
    command = next((a for a in args if not a.startswith("-")), "")
    target = "warehouse"
    for i, arg in enumerate(args):
        if arg in ("--target", "-t") and i + 1 < len(args):
            target = args[i + 1]
        elif arg.startswith("--target="):
            target = arg.split("=", 1)[1]
    writes = command in WRITING_COMMANDS or (command == "test" and "--store-failures" in args)
    if writes and target != DEV_SCHEMA:
        return command
    return None


def run_dbt(
    args: list[str],
    vars: dict | None = None,
    raise_on_failure: bool = True,
    target_subdir: str | None = None,
    gated_build: bool = False,
) -> DbtResult:
    """Invoke dbt (in-process) with the generated profile and this project.

    Steps:
    1. write the profile for the current warehouse;
    2. watermark vars (``WATERMARK_VARS``) go to the environment (``CFZ_DBT_<NAME>``, unset
       when not given, so a full build never sees an earlier watermark), the other vars to
       ``--vars``: dbt's partial parsing (``<target>/partial_parse.msgpack``, one target
       folder per warehouse) then survives from one nightly to the next;
    3. ``gated_build`` (the transform's build, behind its gates, and tests building their own
       warehouse) sets ``CFZ_DBT_GATED_BUILD=1`` for this call only: without it a writing
       command on the warehouse target stops in dbt's on-run-start hook;
    4. dbt's log file at ``file_log_level()`` unless the caller chose one;
    5. call ``dbtRunner().invoke`` with ``--project-dir``/``--profiles-dir``/``--target-path``
       set so parallel warehouses never share a target folder (``target_subdir``: a folder of
       its own inside it, for a command that runs beside a build of the same warehouse);
    6. collect failing nodes (error/fail status) and raise ``DbtError`` naming them.
    """
    from dbt.cli.main import dbtRunner

    profiles_dir = write_profiles()
    target_path, log_path = profiles_dir / "target", profiles_dir / "logs"
    if target_subdir:
        target_path, log_path = target_path / target_subdir, log_path / target_subdir
    cli = [
        *args,
        "--project-dir",
        str(dbt_project_dir()),
        "--profiles-dir",
        str(profiles_dir),
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path),
    ]
    vars = dict(vars or {})
    for name in WATERMARK_VARS:
        value = vars.pop(name, None)
        if value is None:
            os.environ.pop(watermark_env(name), None)
        else:
            os.environ[watermark_env(name)] = str(int(value))
    if vars:
        cli += ["--vars", json.dumps(vars, sort_keys=True)]
    chose_level = any(a == "--log-level-file" or a.startswith("--log-level-file=") for a in args)
    if not chose_level and not os.environ.get("DBT_LOG_LEVEL_FILE"):
        cli += ["--log-level-file", file_log_level()]
    log.info("dbt %s", " ".join(args))
    if gated_build:
        os.environ[GATED_BUILD_ENV] = "1"
    else:
        os.environ.pop(GATED_BUILD_ENV, None)
    try:
        with sessions_kept_open():
            res = dbtRunner().invoke(cli)
    finally:
        os.environ.pop(GATED_BUILD_ENV, None)
    failures: list[str] = []
    results = list(getattr(res.result, "results", None) or []) if res.result is not None else []
    for r in results:
        status = str(getattr(r, "status", ""))
        if status in ("error", "fail", "runtime error"):
            failures.append(f"{r.node.unique_id}: {status}: {(r.message or '').strip()[:500]}")
    if res.exception is not None:
        failures.append(f"dbt raised: {res.exception}")
    success = bool(res.success) and not failures
    if not success and raise_on_failure:
        raise DbtError(
            "dbt " + " ".join(args) + " failed:\n  " + "\n  ".join(failures or ["(see dbt log)"])
        )
    return DbtResult(success=success, failures=failures, results=results)
