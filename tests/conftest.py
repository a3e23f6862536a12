"""Shared fixtures: a real embedded PostgreSQL and a throwaway warehouse per test module.

The session fixture starts the project's embedded cluster (creating it on a fresh clone),
exactly as `cfz db start` does. Each test module gets its own database, named after the
module and the process id, so that parallel runs never share a warehouse: an empty one
(``warehouse_db``), or, for the modules that read a built trial without testing the build
itself, a copy of the session's build of it (``trial_warehouse``: the default simulated
trial; ``pilot_warehouse``: the CDISC pilot), cloned from a template database
(tests/trial_template.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
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
# Flow runs of the tests (``cfz nightly`` in a subprocess...) go to a Prefect server of the
# test process's own, stopped and dropped at the end of the session (``_own_prefect_server``),
# never to the developer's long-running one nor to a PREFECT_API_URL of their shell.
os.environ.pop("PREFECT_API_URL", None)
os.environ["CFZ_PREFECT_INSTANCE"] = f"prefect_test_{os.getpid()}"
from cfz_platform.config import apply_runtime_env  # noqa: E402

apply_runtime_env()

from tests.cfz_process import run_cfz_process  # noqa: E402

# slow modules first under xdist, and the longest modules at the end (tests/scheduling.py)
from tests.scheduling import (  # noqa: E402, F401
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_logreport,
    pytest_terminal_summary,
)
from tests.trial_template import TrialTemplate, ensure_template  # noqa: E402


@pytest.fixture(scope="session")
def cluster():
    """The embedded cluster, started if needed (it is left running for later sessions)."""
    from cfz_platform.db import embedded

    info, _ = embedded.start()
    return info


def module_db_name(request: pytest.FixtureRequest, suffix: str = "") -> str:
    """``t_<pid><suffix>``: the warehouse database of this process's current test module.

    The modules a process (xdist worker) runs one after another reuse the name: each drops
    and creates the database again, and dbt's partial parse in ``.cfz/dbt/<name>`` (which dbt
    keeps only for the same database name: it is in the profile's hash and in every node)
    carries over, so only a process's first module parses the dbt project whole (~6 s of CPU
    per module). ``request`` is kept for the callers' symmetry."""
    del request
    return f"t_{os.getpid()}{suffix}"[:55]


def module_mlflow_db_name(request: pytest.FixtureRequest, suffix: str = "") -> str:
    """``t_<module><suffix>_<pid>_mlflow``: the MLflow database of this test module, a name of
    its own per module (``CFZ_MLFLOW_DB``). MLflow keeps a tracking store per URI for the life
    of the process: a database dropped and created again under the same name would be read
    through a store that had created its tables in the old one."""
    module = re.sub(r"[^a-z0-9]+", "_", request.module.__name__.split(".")[-1].lower())
    return f"t_{module}{suffix}_{os.getpid()}"[:55] + "_mlflow"


def _keep_only_partial_parse(dbt_dir: Path) -> None:
    """Empty ``dbt_dir`` (``.cfz/dbt/<warehouse>``) but for dbt's ``partial_parse.msgpack``
    files: no manifest, run result, published state or log of one module reaches the next."""
    if not dbt_dir.is_dir():
        return
    for path in sorted(dbt_dir.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif path.name != "partial_parse.msgpack":
            path.unlink()


@contextmanager
def scratch_warehouse(
    name: str, template: str | None = None, mlflow_db: str | None = None
) -> Iterator[str]:
    """A warehouse database ``name`` (empty, or a copy of ``template``) that CFZ_WAREHOUSE_DB
    points at until the block ends, with its MLflow database (``mlflow_db``, through
    CFZ_MLFLOW_DB; when not given, the caller's CFZ_MLFLOW_DB or ``<name>_mlflow``). Both are
    dropped then, and the dbt folder (``.cfz/dbt/<name>``) emptied but for dbt's partial parse
    (``module_db_name``), unless CFZ_KEEP_TEST_DB is set (the process's next module drops a
    kept warehouse of the same name: run the module alone to keep its database)."""
    from cfz_platform.config import state_dir
    from cfz_platform.db import warehouse

    warehouse.drop_database(name, mlflow_db)
    _keep_only_partial_parse(state_dir() / "dbt" / name)
    if template:
        warehouse.clone_database(template, name)
    mp = pytest.MonkeyPatch()
    mp.setenv("CFZ_WAREHOUSE_DB", name)
    if mlflow_db:
        mp.setenv("CFZ_MLFLOW_DB", mlflow_db)
    warehouse.ensure_warehouse(name)  # a clone gets its database-level grants here
    try:
        yield name
    finally:
        mp.undo()
        if not os.environ.get("CFZ_KEEP_TEST_DB"):
            warehouse.drop_database(name, mlflow_db)
            _keep_only_partial_parse(state_dir() / "dbt" / name)


@pytest.fixture(scope="module")
def warehouse_db(cluster, request) -> Iterator[str]:
    """A fresh warehouse database for this test module; CFZ_WAREHOUSE_DB points at it."""
    with scratch_warehouse(
        module_db_name(request), mlflow_db=module_mlflow_db_name(request)
    ) as name:
        yield name


@pytest.fixture
def empty_warehouse(cluster, request) -> Iterator[str]:
    """A fresh, empty warehouse for one test (in a module whose own warehouse is a built trial)."""
    with scratch_warehouse(
        module_db_name(request, "_empty"), mlflow_db=module_mlflow_db_name(request, "_empty")
    ) as name:
        yield name


@pytest.fixture(scope="session")
def built_trial_template(cluster) -> TrialTemplate:
    """The session's built default simulated trial (tests/trial_template.py), built at most once."""
    return ensure_template(ROOT, "trial")


@pytest.fixture(scope="session")
def built_pilot_template(cluster) -> TrialTemplate:
    """The session's CDISC pilot through ingest and transform (tests/trial_template.py)."""
    return ensure_template(ROOT, "pilot")


@pytest.fixture(scope="module")
def trial_warehouse(built_trial_template, request) -> Iterator[str]:
    """This module's copy of the built trial (published marts and ADaM); CFZ_WAREHOUSE_DB
    points at it. A module makes it its warehouse (and ``db``'s) by overriding
    ``warehouse_db`` with a module fixture that returns ``trial_warehouse``."""
    with scratch_warehouse(
        module_db_name(request),
        template=built_trial_template.dbname,
        mlflow_db=module_mlflow_db_name(request),
    ) as name:
        yield name


@pytest.fixture(scope="module")
def pilot_warehouse(built_pilot_template, request) -> Iterator[str]:
    """This module's copy of the published CDISC pilot; used as ``trial_warehouse`` is."""
    with scratch_warehouse(
        module_db_name(request),
        template=built_pilot_template.dbname,
        mlflow_db=module_mlflow_db_name(request),
    ) as name:
        yield name


@pytest.fixture(scope="session", autouse=True)
def _drop_kept_partial_parse() -> Iterator[None]:
    """At the end of the session, remove the dbt folders this process's warehouses kept for
    their partial parse (``module_db_name``)."""
    yield
    from cfz_platform.config import state_dir

    if not os.environ.get("CFZ_KEEP_TEST_DB"):
        mine = f"t_{os.getpid()}"
        for folder in (state_dir() / "dbt").glob(f"{mine}*"):
            if folder.name == mine or folder.name.startswith(mine + "_"):
                shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session", autouse=True)
def _own_prefect_server() -> Iterator[None]:
    """At the end of the session, stop this process's Prefect server instance (started by the
    first flow a test ran through ``cfz``, if any) with its children, and drop its database."""
    yield
    from cfz_platform.orchestration import prefect_server

    if prefect_server.stop():
        prefect_server.drop_database()
    prefect_server.log_path().unlink(missing_ok=True)


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
    *args: str,
    env: dict | None = None,
    check: bool = True,
    timeout: int = 900,
    fresh_process: bool = False,
) -> subprocess.CompletedProcess:
    """Run the real `cfz` command line in a process of its own, as a user would: forked from
    this test process's fork server (tests/cfz_process.py), or a real subprocess when
    ``fresh_process`` (a test about process start or imports) or CFZ_TEST_FRESH_PROCESSES=1."""
    proc = run_cfz_process(
        *args,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=timeout,
        fresh_process=fresh_process,
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
