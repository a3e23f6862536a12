"""Built trials shared by a test session, cloned per module (``CREATE DATABASE ... TEMPLATE``).

The modules that read a built trial, and do not test the build itself, share one build of it:
``ensure_template`` builds the trial once into a database ``tmpl_<kind>_<hash>``, and each
module works on its own copy (``warehouse.clone_database``: a file copy of a second or two,
instead of a minute or more of building). Two kinds (``BUILDERS``):

- ``trial``: the default simulated trial (``cfz simulate`` with ``TRIAL_ARGS``), ingested and
  transformed (raw gate, dbt build, mart gate, publish); its landing and truth folders and
  dbt's manifest of the build stay beside it, under ``.cfz/test-templates/trial-<hash>/``:
  read them, copy them to change them;
- ``pilot``: the public CDISC pilot, its files untouched as one delivery, through the front
  door (``cfz ingest``, ``cfz transform``).

``<hash>`` covers the kind, the trial's arguments or source files and every file the build
runs (``INPUTS``): a template left by an earlier session with the same hash is reused, any
change to the code, the dbt project or the expectations builds a new one, and the older ones
of that kind are dropped. Under pytest-xdist the workers take turns on a file lock per kind,
so exactly one builds it and the others wait for it and reuse it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
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
#: The delivery the CDISC pilot's files are copied into (dated after its data).
PILOT_DELIVERY = "20260101T000000"
#: What a build runs, relative to the project root: a change to any of it rebuilds the templates.
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


@dataclass(frozen=True)
class TrialTemplate:
    """A built trial: its template database and the folder it was built from."""

    dbname: str
    folder: Path

    @property
    def landing(self) -> Path:
        return self.folder / "landing"

    @property
    def truth(self) -> Path:
        """The simulator's ground truth (``trial`` only)."""
        return self.folder / "truth"

    @property
    def manifest(self) -> Path:
        """dbt's manifest.json of the build (``trial`` only)."""
        return self.folder / "manifest.json"


def _pilot_dir() -> Path:
    from tests.conftest import CONFORMANCE

    return CONFORMANCE / "cdiscpilot01"


def _hash_tree(digest, base: Path, paths: list[Path]) -> None:
    """Add each file under ``paths`` (sorted; not NOT_INPUTS folders, not ``*.pyc``): its path
    relative to ``base`` and its bytes."""
    for path in paths:
        for file in [path] if path.is_file() else sorted(path.rglob("*")):
            rel = file.relative_to(base)
            if not file.is_file() or NOT_INPUTS & set(rel.parts) or file.suffix == ".pyc":
                continue
            digest.update(str(rel).encode() + b"\0" + file.read_bytes() + b"\0")


def compute_inputs_hash(root: Path, kind: str) -> str:
    """The key of a template: 12 hex digits of a sha256.

    Steps: 1. hash the kind and the trial's arguments; 2. the pilot: its source files;
    3. every file of ``INPUTS`` under ``root``.
    """
    digest = hashlib.sha256(json.dumps([kind, *TRIAL_ARGS]).encode())
    if kind == "pilot":
        _hash_tree(digest, _pilot_dir(), [_pilot_dir()])
    _hash_tree(digest, root, [root / entry for entry in INPUTS])
    return digest.hexdigest()[:12]


def _admin() -> psycopg.Connection:
    return psycopg.connect(warehouse.admin_settings().conninfo, autocommit=True)


def _existing(conn: psycopg.Connection, kind: str) -> list[str]:
    """Template databases of this kind left by earlier sessions (finished or half-built)."""
    like = f"tmpl_{kind}_".replace("_", "\\_") + "%"
    return [
        r[0] for r in conn.execute("select datname from pg_database where datname like %s", (like,))
    ]


def _drop(conn: psycopg.Connection, name: str) -> None:
    """Drop a template database (a template must first be made an ordinary database again)."""
    ident = sql.Identifier(name)
    conn.execute(sql.SQL("alter database {} with is_template false").format(ident))
    conn.execute(sql.SQL("drop database {} with (force)").format(ident))


def _build_trial(build_db: str, folder: Path) -> None:
    """Simulate, ingest and transform (both gates, publish) into ``build_db``.

    Steps: 1. ``cfz simulate`` with ``TRIAL_ARGS`` into ``folder/landing`` and
    ``folder/truth``; 2. ``run_ingest`` and ``run_transform`` with the warehouse and a
    scratch GX project pointed at by the environment (restored afterwards); a trial that does
    not publish stops here with the gate's or dbt's message; 3. keep dbt's manifest of the
    build (the whole project, parsed once) beside the trial.
    """
    from cfz_platform.ingest import run_ingest
    from cfz_platform.transform.pipeline import run_transform
    from tests.conftest import run_cfz

    run_cfz(
        "simulate", *TRIAL_ARGS, "--out", str(folder / "landing"), "--truth", str(folder / "truth")
    )
    with pytest.MonkeyPatch.context() as mp, tempfile.TemporaryDirectory() as gx:
        mp.setenv("CFZ_WAREHOUSE_DB", build_db)
        mp.setenv("CFZ_GX_PROJECT_DIR", gx)
        mp.delenv("CFZ_MLFLOW_DB", raising=False)  # a module's, when it asked for the template
        summary = run_ingest(folder / "landing")
        assert summary.files_quarantined == 0, summary.log_lines()
        result = run_transform(run_id="template")
        assert result.published, result.notes
    shutil.copyfile(
        state_dir() / "dbt" / build_db / "target" / "manifest.json", folder / "manifest.json"
    )


def _build_pilot(build_db: str, folder: Path) -> None:
    """The CDISC pilot's files, copied byte for byte as one delivery (a symbolic link would be
    quarantined unread), then ``cfz ingest`` and ``cfz transform`` (both gates, publish) into
    ``build_db``, with a scratch GX project."""
    from tests.conftest import run_cfz

    delivery = folder / "landing" / PILOT_DELIVERY
    delivery.mkdir(parents=True)
    for path in sorted(_pilot_dir().iterdir()):
        shutil.copyfile(path, delivery / path.name)
    with tempfile.TemporaryDirectory() as gx, pytest.MonkeyPatch.context() as mp:
        mp.delenv("CFZ_MLFLOW_DB", raising=False)  # a module's, when it asked for the template
        env = {"CFZ_WAREHOUSE_DB": build_db, "CFZ_GX_PROJECT_DIR": gx}
        run_cfz("ingest", "--landing", str(folder / "landing"), env=env)
        run_cfz("transform", env=env, timeout=1800)


#: How each kind of template is built into a database (``(database, folder) -> None``).
BUILDERS: dict[str, Callable[[str, Path], None]] = {"trial": _build_trial, "pilot": _build_pilot}


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


def ensure_template(root: Path, kind: str = "trial") -> TrialTemplate:
    """The session's built trial of ``kind``: reused when built from the same inputs, else
    built now.

    Steps:
    1. key it by ``compute_inputs_hash``: database ``tmpl_<kind>_<hash>``, folder
       ``.cfz/test-templates/<kind>-<hash>/``;
    2. take the file lock ``.cfz/test-templates/<kind>.lock`` (xdist workers take turns);
    3. when the database and its folder exist, reuse them;
    4. else drop the other ``tmpl_<kind>_*`` databases and ``<kind>-*`` folders (stale or
       half-built), create the warehouse ``tmpl_<kind>_<hash>_build``, build it
       (``BUILDERS``) and freeze it as ``tmpl_<kind>_<hash>`` (``_freeze``), which is what
       makes it exist: a build that fails half-way is never reused.
    """
    key = compute_inputs_hash(root, kind)
    name = f"tmpl_{kind}_{key}"
    base = state_dir() / "test-templates"
    base.mkdir(exist_ok=True)
    template = TrialTemplate(name, base / f"{kind}-{key}")
    with open(base / f"{kind}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with _admin() as conn:
            existing = _existing(conn, kind)
            if name in existing and template.landing.is_dir():
                return template
            for stale in existing:
                _drop(conn, stale)
        for old in base.glob(f"{kind}-*"):
            shutil.rmtree(old)
        build_db = f"{name}_build"
        try:
            warehouse.ensure_warehouse(build_db)
            BUILDERS[kind](build_db, template.folder)
            with _admin() as conn:
                _freeze(conn, build_db, name)
        finally:
            warehouse.drop_database(build_db)  # a failed build; its MLflow twin in any case
            shutil.rmtree(state_dir() / "dbt" / build_db, ignore_errors=True)
    return template
