"""Shared fixtures: a real embedded PostgreSQL and a throwaway warehouse per test module.

The session fixture starts the project's embedded cluster (creating it on a fresh clone),
exactly as `cfz db start` does. Each test module gets its own database, named after the
module and the process id, so that parallel runs never share a warehouse.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# The public conformance data lives beside the repo (../shared), never inside it;
# CFZ_SHARED_DIR points elsewhere when the clone is not a sibling of that folder.
SHARED = Path(os.environ.get("CFZ_SHARED_DIR", ROOT.parent / "shared"))
CONFORMANCE = SHARED / "conformance"


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop at once, with the reason, when the conformance data is not where the tests read it."""
    if not CONFORMANCE.is_dir():
        raise pytest.UsageError(
            f"the public conformance data is not at {CONFORMANCE}: clone the repo beside the "
            "'shared' folder (../shared) or set CFZ_SHARED_DIR to that folder"
        )


os.environ.pop("CFZ_DATABASE_URL", None)
os.environ.setdefault("CFZ_HOME", str(ROOT))
from cfz_platform.config import apply_runtime_env  # noqa: E402

apply_runtime_env()


@pytest.fixture(scope="session")
def cluster():
    """The embedded cluster, started if needed (it is left running for later sessions)."""
    from cfz_platform.db import embedded

    info, _ = embedded.start()
    return info


@pytest.fixture(scope="module")
def warehouse_db(cluster, request) -> Iterator[str]:
    """A fresh warehouse database for this test module; CFZ_WAREHOUSE_DB points at it."""
    from cfz_platform.db import warehouse

    module = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.split(".")[-1].lower())
    name = f"t_{module}_{os.getpid()}"[:55]
    warehouse.drop_database(name)
    mp = pytest.MonkeyPatch()
    mp.setenv("CFZ_WAREHOUSE_DB", name)
    warehouse.ensure_warehouse(name)
    try:
        yield name
    finally:
        mp.undo()
        if not os.environ.get("CFZ_KEEP_TEST_DB"):
            warehouse.drop_database(name)


@pytest.fixture(scope="session")
def prefect_harness():
    """A real (temporary) Prefect server for the whole session; flows run against it."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="module")
def db(warehouse_db):
    """An autocommit owner connection to the module's warehouse."""
    from cfz_platform.db import warehouse

    with warehouse.connect(warehouse_db, autocommit=True) as conn:
        yield conn


def run_cfz(
    *args: str, env: dict | None = None, check: bool = True, timeout: int = 900
) -> subprocess.CompletedProcess:
    """Run the real `cfz` command line in a subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "cfz_platform.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"cfz {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def simulate_clean_trial(out: Path, patients: int = 8, deliveries: int = 2) -> Path:
    """A small simulated trial with no feed mess under ``out`` (``cfz simulate``); its landing."""
    run_cfz(
        "simulate",
        "--patients",
        str(patients),
        "--deliveries",
        str(deliveries),
        "--error-rate",
        "0",
        "--out",
        str(out / "landing"),
        "--truth",
        str(out / "truth"),
    )
    return out / "landing"
