"""One built simulated trial per test session, cloned per module (``CREATE DATABASE ... TEMPLATE``).

The modules that read a built trial, and do not test the build itself, share one:
``ensure_trial_template`` simulates it (``cfz simulate`` with ``TRIAL_ARGS``), ingests it and
runs the transform (raw gate, dbt build, mart gate, publish) once, into a database
``tmpl_<hash>``; each module then works on its own copy (``warehouse.clone_database``: a file
copy of a second or two, instead of minutes of building). The landing and truth folders of
the trial stay under ``.cfz/test-templates/<hash>/``: read them, copy them to change them.

``<hash>`` covers the trial's arguments and every file the build runs (``INPUTS``): a template
left by an earlier session with the same hash is reused, any change to the code, the dbt
project or the expectations builds a new one, and the older ones are dropped. Under
pytest-xdist the workers take turns on a file lock, so exactly one builds and the others wait
for it and reuse it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from cfz_platform.config import state_dir
from cfz_platform.db import warehouse

#: ``cfz simulate`` arguments of the shared trial: its defaults (45 enrolled subjects plus screen
#: failures, seed 20140127, 12 deliveries, 1% feed mess, the realistic scenario rates).
TRIAL_ARGS: tuple[str, ...] = ()
#: What the build runs, relative to the project root: a change to any of it rebuilds the template.
INPUTS = (
    "dbt",
    "expectations",
    "flows",
    "src/cfz_platform",
    "pyproject.toml",
    "uv.lock",
    "tests/trial_template.py",
)
#: Generated files inside INPUTS (dbt targets and logs, GX results, bytecode): not inputs.
NOT_INPUTS = frozenset({"__pycache__", "target", "logs", "dbt_packages", "uncommitted"})
PREFIX = "tmpl_"


@dataclass(frozen=True)
class TrialTemplate:
    """The built trial: its template database and the folders it was built from."""

    dbname: str
    landing: Path
    truth: Path


def compute_inputs_hash(root: Path, trial_args: tuple[str, ...] = TRIAL_ARGS) -> str:
    """The template's key: 12 hex digits of a sha256.

    Steps: 1. hash the trial's arguments; 2. walk each of ``INPUTS`` (sorted, skipping
    ``NOT_INPUTS`` folders and ``*.pyc``) and hash each file's path and bytes.
    """
    digest = hashlib.sha256(json.dumps(list(trial_args)).encode())
    for entry in INPUTS:
        path = root / entry
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for file in files:
            rel = file.relative_to(root)
            if not file.is_file() or NOT_INPUTS & set(rel.parts) or file.suffix == ".pyc":
                continue
            digest.update(str(rel).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


def _admin() -> psycopg.Connection:
    return psycopg.connect(warehouse.admin_settings().conninfo, autocommit=True)


def _existing(conn: psycopg.Connection) -> list[str]:
    """Template databases of earlier sessions (finished, or left half-built)."""
    return [
        r[0]
        for r in conn.execute(
            "select datname from pg_database where datname like %s",
            (PREFIX.replace("_", "\\_") + "%",),
        )
    ]


def _drop(conn: psycopg.Connection, name: str) -> None:
    """Drop a template database (a template must first be made an ordinary database again)."""
    ident = sql.Identifier(name)
    conn.execute(sql.SQL("alter database {} with is_template false").format(ident))
    conn.execute(sql.SQL("drop database {} with (force)").format(ident))


def _build(build_db: str, folder: Path) -> None:
    """Simulate, ingest and transform (both gates, publish) into ``build_db``.

    Steps: 1. create the warehouse; 2. ``cfz simulate`` with ``TRIAL_ARGS`` into
    ``folder/landing`` and ``folder/truth``; 3. ``run_ingest`` and ``run_transform`` with the
    warehouse and a scratch GX project pointed at by the environment (restored afterwards);
    a trial that does not publish stops the session with the gate's or dbt's message.
    """
    from cfz_platform.ingest import run_ingest
    from cfz_platform.transform.pipeline import run_transform
    from tests.conftest import run_cfz

    warehouse.ensure_warehouse(build_db)
    run_cfz(
        "simulate", *TRIAL_ARGS, "--out", str(folder / "landing"), "--truth", str(folder / "truth")
    )
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as gx:
        mp.setenv("CFZ_WAREHOUSE_DB", build_db)
        mp.setenv("CFZ_GX_PROJECT_DIR", gx)
        summary = run_ingest(folder / "landing")
        assert summary.files_quarantined == 0, summary.log_lines()
        result = run_transform(run_id="template")
        assert result.published, result.notes


def _freeze(conn: psycopg.Connection, build_db: str, name: str) -> None:
    """End every session on the built database (dbt's, GX's pooled ones), rename it, and make
    it a template that accepts no connections, so a clone never finds it in use."""
    conn.execute(
        "select pg_terminate_backend(pid) from pg_stat_activity where datname = %s", (build_db,)
    )
    conn.execute(
        sql.SQL("alter database {} rename to {}").format(
            sql.Identifier(build_db), sql.Identifier(name)
        )
    )
    conn.execute(
        sql.SQL("alter database {} with is_template true allow_connections false").format(
            sql.Identifier(name)
        )
    )


def ensure_trial_template(root: Path) -> TrialTemplate:
    """The session's built trial: reused when built with the same inputs, else built now.

    Steps:
    1. key it by ``compute_inputs_hash``: database ``tmpl_<hash>``, folders under
       ``.cfz/test-templates/<hash>/``;
    2. take the file lock ``.cfz/test-templates/.lock`` (xdist workers take turns);
    3. when the database and its folders exist, reuse them;
    4. else drop every other ``tmpl_*`` database and folder (stale or half-built), build into
       ``tmpl_<hash>_build`` (``_build``) and freeze it as ``tmpl_<hash>`` (``_freeze``),
       which is what makes it exist: a build that fails half-way is never reused.
    """
    key = compute_inputs_hash(root)
    name = f"{PREFIX}{key}"
    base = state_dir() / "test-templates"
    base.mkdir(exist_ok=True)
    folder = base / key
    template = TrialTemplate(name, folder / "landing", folder / "truth")
    with open(base / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with _admin() as conn:
            existing = _existing(conn)
            if name in existing and template.truth.is_dir():
                return template
            for stale in existing:
                _drop(conn, stale)
        for old in base.iterdir():
            if old.is_dir():
                shutil.rmtree(old)
        build_db = f"{name}_build"
        try:
            _build(build_db, folder)
            with _admin() as conn:
                _freeze(conn, build_db, name)
        finally:
            warehouse.drop_database(build_db)  # a failed build; its MLflow twin in any case
            shutil.rmtree(state_dir() / "dbt" / build_db, ignore_errors=True)
    return template
