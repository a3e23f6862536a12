"""Where the platform keeps its state and which database it talks to.

Resolution order for the warehouse:
1. ``CFZ_DATABASE_URL`` (an existing PostgreSQL server and database, the production case);
2. otherwise the embedded cluster under ``<project>/.cfz/`` (see ``cfz_platform.db.embedded``).

``CFZ_HOME`` overrides the project root (where ``.cfz/``, ``out/`` and ``dbt/`` are found).
``CFZ_WAREHOUSE_DB`` picks another database name inside the embedded cluster (tests and
parallel development use it so that they never share a warehouse).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

WAREHOUSE_SCHEMAS = ("raw", "staging", "marts", "adam", "ml", "audit")
#: Schemas bi_reader may read (published builds only; granted again after each publish).
BI_READABLE_SCHEMAS = ("marts", "adam")
OWNER_ROLE = "cfz_owner"
BI_ROLE = "bi_reader"
DEFAULT_WAREHOUSE_DB = "cfz"


def adam_schema_for(marts_schema: str) -> str:
    """The schema dbt builds the ADaM datasets into beside ``marts_schema``.

    ``marts`` -> ``adam``, ``marts_candidate`` -> ``adam_candidate``, ``marts_previous`` ->
    ``adam_previous``; any other marts schema (tests) ``<schema>_adam``.
    """
    if marts_schema == "marts":
        return "adam"
    if marts_schema.startswith("marts_"):
        return "adam_" + marts_schema.removeprefix("marts_")
    return f"{marts_schema}_adam"


def _looks_like_project_root(path: Path) -> bool:
    pyproject = path / "pyproject.toml"
    return pyproject.is_file() and 'name = "cfz-platform"' in pyproject.read_text()


@lru_cache(maxsize=1)
def project_root() -> Path:
    """Return the project root: ``CFZ_HOME``, else the nearest ancestor holding our pyproject.

    Steps:
    1. honour ``CFZ_HOME`` when set;
    2. walk up from the current directory, then from this file, to a ``pyproject.toml``
       naming ``cfz-platform``;
    3. fall back to the current directory.
    """
    env = os.environ.get("CFZ_HOME")
    if env:
        return Path(env).resolve()
    for start in (Path.cwd(), Path(__file__).resolve()):
        for candidate in (start, *start.parents):
            if _looks_like_project_root(candidate):
                return candidate
    return Path.cwd()


def dbt_project_dir() -> Path:
    """The dbt project (models, macros, seeds): ``<project>/dbt``."""
    return project_root() / "dbt"


def state_dir() -> Path:
    """The git-ignored folder holding the embedded cluster and local state."""
    path = project_root() / ".cfz"
    path.mkdir(parents=True, exist_ok=True)
    return path


def output_dir() -> Path:
    """Default folder for reports, data docs and other generated outputs."""
    return Path(os.environ.get("CFZ_OUTPUT_DIR", project_root() / "out"))


def external_database_url() -> str | None:
    """The external warehouse URL, when one is configured."""
    url = os.environ.get("CFZ_DATABASE_URL", "").strip()
    return url or None


def warehouse_db_name() -> str:
    """Name of the warehouse database in the embedded cluster."""
    return os.environ.get("CFZ_WAREHOUSE_DB", DEFAULT_WAREHOUSE_DB)


@dataclass(frozen=True)
class DatabaseSettings:
    """Connection settings for the warehouse and the MLflow tracking database."""

    host: str
    port: int
    dbname: str
    user: str
    password: str
    mlflow_dbname: str

    def url(self, dbname: str | None = None, driver: str = "postgresql") -> str:
        from urllib.parse import quote

        return (
            f"{driver}://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{dbname or self.dbname}"
        )

    @property
    def conninfo(self) -> str:
        return self.url()

    @property
    def mlflow_url(self) -> str:
        return self.url(self.mlflow_dbname, driver="postgresql+psycopg")

    @property
    def sqlalchemy_url(self) -> str:
        return self.url(driver="postgresql+psycopg")


def settings_from_url(url: str) -> DatabaseSettings:
    """Parse a ``postgresql://user:pw@host:port/db`` URL into settings."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url.replace("postgresql+psycopg://", "postgresql://"))
    if parsed.scheme not in ("postgresql", "postgres"):
        raise ValueError(
            f"CFZ_DATABASE_URL must be a postgresql:// URL, got scheme {parsed.scheme!r}"
        )
    dbname = (parsed.path or "/").lstrip("/") or "postgres"
    mlflow_db = os.environ.get("CFZ_MLFLOW_DB", f"{dbname}_mlflow")
    return DatabaseSettings(
        host=parsed.hostname or "localhost",
        port=parsed.port or 5432,
        dbname=dbname,
        user=unquote(parsed.username or ""),
        password=unquote(parsed.password or ""),
        mlflow_dbname=mlflow_db,
    )


def apply_runtime_env() -> None:
    """Environment defaults every command shares (called by the CLI and the tests).

    Steps: keep Prefect's home, and dbt's and MLflow's noise, inside ``.cfz/`` unless the
    user chose otherwise.
    """
    os.environ.setdefault("PREFECT_HOME", str(state_dir() / "prefect"))
    # Prefect UI: the run logger and the package's own loggers ship INFO to the API (each flow
    # run's log), while Prefect's console handler stays at WARNING: the command line prints its
    # own progress, and Prefect's chatter ("Beginning flow run ...") would drown it.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    os.environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", "cfz_platform,cfz")
    # a platform line logged outside a flow run (a CLI transform, a test) is not an error: the
    # API handler drops it without the "attempted to send logs ... without a flow run id" warning
    os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_FLOW_RUNS_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_TASK_RUNS_LEVEL", "WARNING")
    for name in ("cfz_platform", "cfz"):  # INFO reaches the run log whatever the root's level
        package_logger = logging.getLogger(name)
        if package_logger.level == logging.NOTSET:
            package_logger.setLevel(logging.INFO)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
