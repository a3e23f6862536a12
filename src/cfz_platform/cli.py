"""The ``cfz`` command line. Each command is a thin wrapper over a module of the package.

The command names and options are a stable contract: external scripts call them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from cfz_platform.ingest.summary import IngestSummary

app = typer.Typer(
    help="cfz-platform: the data platform of the carfilzomib-for-bortezomib myeloma trial.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,  # plain tracebacks with --debug, and never local variables
)
db_app = typer.Typer(
    help="The warehouse database (embedded PostgreSQL by default).", no_args_is_help=True
)
app.add_typer(db_app, name="db")
prefect_app = typer.Typer(
    help="The long-running local Prefect server (UI and API).", no_args_is_help=True
)
app.add_typer(prefect_app, name="prefect")
alerts_app = typer.Typer(
    help="Where a failed or crashed nightly is reported (a webhook).", no_args_is_help=True
)
app.add_typer(alerts_app, name="alerts")


def _setup_logging(verbose: bool = False, debug: bool = False) -> None:
    """Log to stderr; without ``--debug`` one message per failure (``console.quiet_terminal``)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )
    logging.getLogger("cfz_platform").setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in (
        "httpx",
        "httpcore",
        "alembic",
        "urllib3",
        "matplotlib",
        "numexpr",
        "great_expectations",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if not verbose:  # MLflow's own handler: "Creating initial MLflow database tables..."
        os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    if not debug:
        from cfz_platform.console import quiet_terminal

        for handler in logging.getLogger().handlers:
            quiet_terminal(handler)


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


WAIT_HELP = (
    "Seconds to wait for a running command holding the warehouse lock before giving up (exit 75)."
)


@contextmanager
def _locked(command: str, wait: float, name: str | None = None) -> Iterator[None]:
    """Hold the warehouse lock (or ``name``) for ``command``; exit 75 naming the holder when
    it stays taken for ``wait`` seconds (see ``orchestration.lock``)."""
    from cfz_platform.db.warehouse import WarehouseError
    from cfz_platform.orchestration import lock

    stack = ExitStack()
    try:
        stack.enter_context(
            lock.warehouse_lock(name or lock.WAREHOUSE, wait_seconds=wait, holder=command)
        )
    except lock.RunLockedError as exc:
        _fail(f"cfz {command}: {exc}", code=lock.LOCKED_EXIT_CODE)
    except WarehouseError as exc:
        _fail(str(exc))
    with stack:
        yield


def _load_flow(module: str, name: str):
    """Import a Prefect flow from ``flows/`` and point Prefect at the local server.

    The long-running local server (``cfz prefect start``) is started on first use, so flow
    runs after the first cost ~1 s of orchestration instead of ~15 s for an ephemeral one.
    Set ``PREFECT_API_URL`` to use another server.
    """
    import importlib

    from cfz_platform.config import project_root
    from cfz_platform.orchestration import prefect_server

    if str(project_root()) not in sys.path:  # flows/ lives at the project root
        sys.path.insert(0, str(project_root()))
    if not os.environ.get("CFZ_PREFECT_EPHEMERAL"):
        prefect_server.use_local_server(start_if_needed=True)
    return getattr(importlib.import_module(module), name)


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
    debug: bool = typer.Option(
        False, "--debug", help="Show the full traceback of an unexpected error."
    ),
) -> None:
    from cfz_platform.config import apply_runtime_env

    apply_runtime_env()
    # a lost Prefect API fails a call after ~6 s, not ~60 s (Prefect's default is 5 retries)
    os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "2")
    _setup_logging(verbose, debug)


# --------------------------------------------------------------------------- db


@db_app.command("start")
def db_start() -> None:
    """Create (first time) and start the warehouse, and set up schemas and roles."""
    from cfz_platform.config import external_database_url
    from cfz_platform.db import embedded, warehouse

    try:
        if external_database_url():
            owner = warehouse.ensure_warehouse()
            typer.echo(
                f"using the external PostgreSQL at {owner.host}:{owner.port}/{owner.dbname}; schemas and roles are in place"
            )
            return
        info, started = embedded.start()
        owner = warehouse.ensure_warehouse()
    except (embedded.EmbeddedClusterError, warehouse.WarehouseError) as exc:
        _fail(str(exc))
    if started:
        typer.echo(
            f"started the embedded PostgreSQL on 127.0.0.1:{info.port} (data in {info.data_dir})"
        )
    else:
        typer.echo(f"the embedded PostgreSQL is already running on 127.0.0.1:{info.port}")
    typer.echo(
        f"warehouse database {owner.dbname!r} is ready (schemas raw, staging, marts, adam, ml, audit)"
    )


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL (data is kept)."""
    from cfz_platform.config import external_database_url
    from cfz_platform.db import embedded

    if external_database_url():
        _fail("CFZ_DATABASE_URL is set: the external server is not ours to stop")
    if embedded.stop():
        typer.echo("stopped the embedded PostgreSQL (data kept under .cfz/)")
    else:
        typer.echo("the embedded PostgreSQL is not running")


@db_app.command("status")
def db_status() -> None:
    """Say whether the warehouse is reachable, where, and what it holds."""
    from cfz_platform.config import external_database_url
    from cfz_platform.db import embedded, warehouse

    if not external_database_url():
        info = embedded.load_info()
        if info is None:
            typer.echo("the embedded PostgreSQL has not been created yet (run `cfz db start`)")
            raise typer.Exit(3)
        if not embedded.is_running(info):
            typer.echo(
                f"the embedded PostgreSQL is stopped (data in {info.data_dir}, port {info.port})"
            )
            raise typer.Exit(3)
    try:
        with warehouse.connect() as conn:
            rows = conn.execute(
                "select n.nspname, count(c.oid) from pg_namespace n "
                "left join pg_class c on c.relnamespace = n.oid and c.relkind in ('r','v','p','m') "
                "where n.nspname = any(%s) group by 1 order by 1",
                (["raw", "staging", "marts", "ml", "audit"],),
            ).fetchall()
    except Exception as exc:  # noqa: BLE001 - report any connection problem plainly
        _fail(f"the warehouse is not reachable: {exc}")
    owner = warehouse.settings()
    kind = "external" if external_database_url() else "embedded"
    typer.echo(f"running ({kind}) at {owner.host}:{owner.port}/{owner.dbname}")
    for schema, n in rows:
        typer.echo(f"  {schema:8s} {n} tables/views")


@db_app.command("url")
def db_url(
    role: str = typer.Option(
        "owner", help="owner (the pipeline), bi_reader (read-only), or mlflow."
    ),
) -> None:
    """Print a connection URL for the warehouse."""
    from cfz_platform.db import warehouse

    try:
        if role == "owner":
            typer.echo(warehouse.settings().url())
        elif role == "bi_reader":
            typer.echo(warehouse.bi_settings().url())
        elif role == "mlflow":
            typer.echo(warehouse.settings().mlflow_url)
        else:
            _fail(f"unknown role {role!r}: use owner, bi_reader or mlflow")
    except warehouse.WarehouseError as exc:
        _fail(str(exc))


@db_app.command("env")
def db_env(
    role: str = typer.Option("owner", help="owner (the pipeline) or bi_reader (read-only)."),
) -> None:
    """Print libpq's PG* variables for the warehouse (eval "$(cfz db env)"; psql, dbt/profiles.yml)."""
    import shlex

    from cfz_platform.db import warehouse

    if role not in ("owner", "bi_reader"):
        _fail(f"unknown role {role!r}: use owner or bi_reader")
    try:
        s = warehouse.settings() if role == "owner" else warehouse.bi_settings()
    except warehouse.WarehouseError as exc:
        _fail(str(exc))
    values = {
        "PGHOST": s.host,
        "PGPORT": s.port,
        "PGUSER": s.user,
        "PGPASSWORD": s.password,
        "PGDATABASE": s.dbname,
    }
    for name, value in values.items():
        typer.echo(f"export {name}={shlex.quote(str(value))}")


# --------------------------------------------------------------------------- prefect


@prefect_app.command("start")
def prefect_start() -> None:
    """Start the local Prefect server (state in the warehouse's PostgreSQL)."""
    from cfz_platform.orchestration import prefect_server

    url, started = prefect_server.start()
    verb = "started" if started else "already running:"
    typer.echo(f"Prefect server {verb} {url}")
    typer.echo(
        f"UI: {url.removesuffix('/api')}   (export PREFECT_API_URL={url} to use it from a shell)"
    )


@prefect_app.command("stop")
def prefect_stop() -> None:
    """Stop the local Prefect server."""
    from cfz_platform.orchestration import prefect_server

    typer.echo(
        "stopped the Prefect server"
        if prefect_server.stop()
        else "the Prefect server was not running"
    )


@prefect_app.command("status")
def prefect_status() -> None:
    """Print the local Prefect server's URL, or say it is not running."""
    from cfz_platform.orchestration import prefect_server

    url = prefect_server.running_api_url()
    if url is None:
        typer.echo("the Prefect server is not running (cfz prefect start)")
        raise typer.Exit(3)
    typer.echo(url)


# --------------------------------------------------------------------------- alerts


@alerts_app.command("set-webhook")
def alerts_set_webhook(
    url: str = typer.Argument(..., help="http(s) URL that accepts a JSON POST (Slack, Teams...)."),
) -> None:
    """Post a message to URL whenever a nightly run fails or crashes (CFZ_ALERT_WEBHOOK_URL wins)."""
    from cfz_platform.orchestration import alerts

    try:
        alerts.store_webhook(url)
    except alerts.AlertError as exc:
        _fail(str(exc))
    typer.echo(
        "failed or crashed nightly runs will post to this webhook "
        "(kept in .cfz/alerts.json; `cfz alerts test` sends a test message)"
    )


@alerts_app.command("test")
def alerts_test() -> None:
    """Send a test message to the alert webhook."""
    from cfz_platform.orchestration import alerts

    try:
        host = alerts.send_test_message()
    except alerts.AlertError as exc:
        _fail(str(exc))
    typer.echo(f"test message delivered to {host}")


# --------------------------------------------------------------------------- pipeline


@app.command()
def simulate(
    patients: int = typer.Option(45, help="Enrolled subjects (screen failures come on top)."),
    seed: int = typer.Option(
        20140127, help="Random seed; the same arguments give identical files."
    ),
    out: Path = typer.Option(Path("out/landing"), help="Landing folder to write deliveries into."),
    deliveries: int = typer.Option(12, help="Number of deliveries."),
    start_date: str = typer.Option(
        "2024-01-08",
        help="First enrolment date (ISO). The default trial ends before today, so no record is dated in the future.",
    ),
    error_rate: float = typer.Option(0.01, help="Share of records given feed mess."),
    truth: Path | None = typer.Option(None, help="Ground-truth folder (default: OUT/../truth)."),
    scenarios: str = typer.Option(
        "default",
        help="Real-trial shapes to plant. 'default': each at a realistic (low) rate; 'all': every one boosted "
        "(about 4% of the expansion cohort each, at least 2); 'none': no shape; or a comma-separated list "
        "of names to boost (the others stay at their realistic rates): waiver, btz-monotherapy, "
        "cfz-held-c1d1, ae-ongoing, partial-dates, new-therapy-on-assessment, armcd-mismatch, early-death, "
        "consent-withdrawn, two-early-dlts, nadir-above-5. Which subject got which: truth/study.json.",
    ),
) -> None:
    """Simulate the trial and write SDTM feed deliveries plus a ground-truth folder."""
    from datetime import date

    from cfz_platform.simulate.params import SimConfig
    from cfz_platform.simulate.scenarios import parse_scenarios
    from cfz_platform.simulate.trial import run_simulation

    try:
        start = date.fromisoformat(start_date)
    except ValueError:
        _fail(f"--start-date must be an ISO date (YYYY-MM-DD), got {start_date!r}")
    if patients < 1 or deliveries < 1 or not 0.0 <= error_rate < 1.0:
        _fail("--patients and --deliveries must be >= 1 and --error-rate in [0, 1)")
    try:
        boosted, realistic = parse_scenarios(scenarios)
    except ValueError as exc:
        _fail(f"--scenarios: {exc}")
    cfg = SimConfig(
        patients=patients,
        seed=seed,
        deliveries=deliveries,
        start_date=start,
        error_rate=error_rate,
        scenarios=boosted,
        realistic_scenarios=realistic,
    )
    summary = run_simulation(cfg, out, truth)
    mtd = f"{summary['mtd']:g} mg/m2" if summary["mtd"] is not None else "not established"
    typer.echo(
        f"simulated {summary['enrolled']} enrolled + {summary['subjects'] - summary['enrolled']} screen failures: "
        f"{summary['rows']} rows in {len(summary['deliveries'])} deliveries under {out} "
        f"({summary['errors']} injected problems; MTD {mtd}) in {summary['seconds']:.1f}s; truth in {summary['truth']}"
    )


#: ``cfz ingest`` exit status when the run completed but quarantined one or more files.
EXIT_QUARANTINED = 3


@app.command()
def ingest(
    landing: Path = typer.Option(..., help="Landing root holding one folder per delivery."),
    wait: float = typer.Option(
        0.0, help="Seconds to wait for a running ingest before giving up (exit 75)."
    ),
    prefect: bool = typer.Option(
        False,
        "--prefect",
        help="Run as the Prefect flow `ingest_feeds` on the local server (a flow run and its "
        "table artifact in the UI); without it the load runs in this process, without Prefect.",
    ),
) -> None:
    """Load new deliveries into the raw layer (ledger, rejects, quarantine).

    Takes the ingest lock (two ingests take turns), not the warehouse lock: it may run while
    a transform builds; what it loads waits for the next build and its raw gate.

    Steps: check the landing folder; take the ingest lock; load (``_ingest_summary``: in this
    process, or with ``--prefect`` as the flow run of ``flows/ingest.py``); print the summary;
    list the quarantined files.

    Exit status: 0 every new file loaded (or nothing new); 3 the run completed but quarantined
    files (listed; every other file loaded); 75 another ingest holds the lock; 1 the run could
    not start or stopped (warehouse).
    """
    # the loader's numpy does no linear algebra: OpenBLAS's worker threads, started at import,
    # would cost 0.1 s of CPU for nothing
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import psycopg

    from cfz_platform.ingest import IngestError
    from cfz_platform.orchestration.lock import INGEST

    if not landing.is_dir():
        _fail(f"landing folder {landing} does not exist")
    with _locked("ingest", wait, INGEST):
        try:
            summary = _ingest_summary(landing.resolve(), prefect)
        except IngestError as exc:
            _fail(str(exc))
        except psycopg.Error as exc:
            _fail(
                f"ingest stopped, the warehouse failed (files committed so far stay loaded; rerun): "
                f"{(str(exc).strip().splitlines() or [type(exc).__name__])[0]}"
            )
    for line in summary.log_lines():
        typer.echo(line)
    quarantined = summary.quarantined_paths()
    if quarantined:
        typer.secho(
            f"quarantined: {len(quarantined)} file(s) (every other file loaded; reasons in "
            f"audit.ingest_files): {', '.join(quarantined[:10])}{' ...' if len(quarantined) > 10 else ''}",
            fg=typer.colors.YELLOW,
            err=True,
        )
        raise typer.Exit(EXIT_QUARANTINED)


def _ingest_summary(landing: Path, prefect: bool) -> IngestSummary:
    """One ingestion run over ``landing``: in this process (no Prefect import, no server round
    trip; progress lines on stderr, the summary left to the caller), or as the ``ingest_feeds``
    flow run on the Prefect server when ``prefect``."""
    from cfz_platform.ingest.summary import FileOutcome, IngestSummary

    if not prefect:
        from cfz_platform.ingest import run_ingest

        return run_ingest(landing, log_summary=False)
    result = _load_flow("flows.ingest", "ingest_feeds")(str(landing))
    fields = {k: result[k] for k in ("run_id", "landing", "notes", "seconds")}
    return IngestSummary(**fields, files=[FileOutcome(**f) for f in result["files"]])


@app.command()
def transform(
    full_refresh: bool = typer.Option(
        False,
        "--full-refresh",
        help="Rebuild every incremental model from scratch (normally only "
        "after a change to the dbt project, which is detected by itself).",
    ),
    wait: float = typer.Option(0.0, help=WAIT_HELP),
) -> None:
    """Raw gate, dbt build into a candidate schema, mart gate, publish."""
    from cfz_platform.db.warehouse import WarehouseError
    from cfz_platform.quality import QualityGateFailed
    from cfz_platform.transform.dbt_runner import DbtError
    from cfz_platform.transform.pipeline import NothingLoadedError, run_transform
    from cfz_platform.transform.publish import PublishError

    with _locked("transform", wait):
        try:
            result = run_transform(full_refresh=full_refresh)
        except NothingLoadedError as exc:
            _fail(str(exc))
        except QualityGateFailed as exc:
            _fail(
                f"blocking expectations failed, nothing was published (marts keeps the last good build):\n{exc}"
            )
        except (DbtError, PublishError, WarehouseError, RuntimeError) as exc:
            _fail(
                f"transform failed, nothing was published (marts keeps the last good build): {exc}"
            )
    for report in result.reports:
        typer.echo(report.explain())
    for note in result.notes:
        typer.echo(f"  {note}")
    typer.echo(
        f"published the validated build as marts and adam (run {result.run_id}; results in audit.quality_results)"
    )


@app.command()
def validate(
    schema: str = typer.Option("marts", help="Mart schema to validate (e.g. marts_candidate)."),
    wait: float = typer.Option(0.0, help=WAIT_HELP),
) -> None:
    """Run the quality gates against what is in the warehouse and report (results are
    written to the audit schema, so it takes the warehouse lock)."""
    from cfz_platform.db.warehouse import WarehouseError
    from cfz_platform.quality.runner import UnknownSchemaError
    from cfz_platform.transform.pipeline import run_validate

    with _locked("validate", wait):
        try:
            reports = run_validate(marts_schema=schema)
        except (WarehouseError, UnknownSchemaError) as exc:
            _fail(str(exc))
    for report in reports:
        typer.echo(report.explain())
    failed = [r.gate for r in reports if not r.passed]
    if failed:
        _fail(
            f"blocking expectations failed ({', '.join(failed)} gate); see above and audit.quality_results"
        )


@app.command()
def train(
    wait: float = typer.Option(0.0, help=WAIT_HELP),
    dev: bool = typer.Option(
        False,
        "--dev",
        help="Train on your `cfz dbt` build (dev_marts) into the experiment early_response-dev; "
        "registers nothing.",
    ),
) -> None:
    """Train the early-response model and register it in MLflow (--dev: a development run)."""
    from cfz_platform.db.warehouse import WarehouseError
    from cfz_platform.ml import tracking
    from cfz_platform.ml.features import FeaturesError

    try:
        tracking.check_store()  # before taking the lock, starting Prefect and reading features
    except WarehouseError as exc:
        _fail(str(exc))
    # a development run writes nothing the pipeline owns: it needs no warehouse lock
    with nullcontext() if dev else _locked("train", wait):
        train_early_response_flow = _load_flow("flows.train", "train_early_response_flow")
        try:
            result = train_early_response_flow(dev=dev)
        except (FeaturesError, WarehouseError, ValueError) as exc:
            _fail(str(exc))
    from cfz_platform.ml.train import TrainResult, summary_lines

    result = dict(result)
    ttp_lines = result.pop("ttp_lines", [])
    for line in [*summary_lines(TrainResult(**result)), *ttp_lines]:
        typer.echo(line)


@app.command()
def score(wait: float = typer.Option(0.0, help=WAIT_HELP)) -> None:
    """Score response-evaluable subjects with the champion model."""
    from cfz_platform.db.warehouse import WarehouseError
    from cfz_platform.ml import tracking
    from cfz_platform.ml.features import FeaturesError
    from cfz_platform.ml.scoring import ScoringError

    try:
        tracking.check_store()
    except WarehouseError as exc:
        _fail(str(exc))
    with _locked("score", wait):
        score_early_response_flow = _load_flow("flows.score", "score_early_response_flow")
        try:
            r = score_early_response_flow()
        except (FeaturesError, ScoringError, WarehouseError) as exc:
            _fail(str(exc))
    typer.echo(
        f"scored {r['n_scored']} subjects with early_response v{r['model_version']} "
        f"({r['n_predicted_responders']} predicted responders at probability >= {r['threshold']}); "
        "table ml.early_response_predictions (rows of this run: is_current)"
    )


@app.command("model-card")
def model_card(
    out: Path | None = typer.Option(
        None, help="Where to write it (default models/early_response/MODEL_CARD.md)."
    ),
    alias: str = typer.Option("champion", help="The registered version to describe."),
) -> None:
    """Generate the model card from the registered run of the champion (never edit it by hand)."""
    from cfz_platform.db.warehouse import WarehouseError
    from cfz_platform.ml.model_card import ModelCardError, write_model_card

    try:
        path = write_model_card(out, alias)
    except (ModelCardError, WarehouseError) as exc:
        _fail(str(exc))
    typer.echo(str(path))


@app.command(
    "dbt",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def dbt_command(ctx: typer.Context) -> None:
    """Run any dbt command on the warehouse: cfz dbt -- build -s stg_sdtm__lb.

    The profile is the warehouse's own (embedded cluster or CFZ_DATABASE_URL). The target is
    `dev` unless you pass --target: models build into dev_staging, dev_marts, ..., reading the
    real raw layer, and never touch the published marts. What a dev build does not select
    (and has not built) it reads from the published schemas (dbt --defer). `--target
    warehouse` reaches the pipeline's schemas for read-only commands only (ls, compile, docs,
    source freshness, test): a command that would write them (build, run, seed, snapshot,
    run-operation...) is refused; `cfz transform` is the one way to build and publish them
    behind the gates.
    """
    from cfz_platform.db import warehouse
    from cfz_platform.ingest import ensure_raw_layer
    from cfz_platform.transform.dbt_runner import compute_published_write, run_dbt
    from cfz_platform.transform.dev_build import defer_to_published

    args = list(ctx.args)
    if not args:
        _fail("give a dbt command after --, e.g. cfz dbt -- ls -s staging")
    if (
        "--target" not in args
        and "-t" not in args
        and not any(a.startswith("--target=") for a in args)
    ):
        args += ["--target", "dev"]
    command = compute_published_write(args)
    if command is not None:
        _fail(
            f"dbt {command} on the warehouse target would write the published schemas without "
            "the quality gates: use `cfz transform` to build and publish (or drop --target to "
            "build into dev_* schemas)"
        )
    try:
        with warehouse.connect(autocommit=True) as conn:
            ensure_raw_layer(conn)  # the sources exist even before the first delivery
    except warehouse.WarehouseError as exc:
        _fail(str(exc))
    # a dev build reads the nodes it does not build from the published schemas (dbt --defer)
    args = defer_to_published(args)
    result = run_dbt(args, raise_on_failure=False)
    raise typer.Exit(0 if result.success else 1)


@app.command(
    "mf",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def mf_command(ctx: typer.Context) -> None:
    """Run MetricFlow on the published marts: cfz mf -- query --metrics orr_protocol --group-by subject__analysis_group.

    The semantic models and metrics are dbt's (dbt/models/semantic); MetricFlow runs with the
    warehouse's own profile (target `warehouse`: the published marts, as BI reads them) and
    the semantic manifest of a fresh `dbt parse`. Any `mf` command works: `list metrics`,
    `list dimensions --metrics M`, `query ... --explain` (the SQL), `validate-configs`.
    """
    from cfz_platform.db import warehouse
    from cfz_platform.ingest import ensure_raw_layer
    from cfz_platform.transform.dbt_runner import DbtError
    from cfz_platform.transform.semantic_layer import compute_mf_environment, prepare_project

    args = list(ctx.args)
    if not args:
        _fail("give an mf command after --, e.g. cfz mf -- list metrics")
    try:
        with warehouse.connect(autocommit=True) as conn:
            ensure_raw_layer(conn)  # the sources exist even before the first delivery
        profiles, project = prepare_project()
    except (DbtError, warehouse.WarehouseError) as exc:
        _fail(f"the semantic layer could not be prepared: {exc}")
    mf = Path(sys.executable).with_name("mf")
    proc = subprocess.run(
        [str(mf), *args], cwd=project, env=compute_mf_environment(profiles, project)
    )
    raise typer.Exit(proc.returncode)


@app.command()
def docs(
    out: Path = typer.Option(Path("out/dbt-docs"), help="Folder for the static dbt docs site."),
) -> None:
    """Write the dbt docs (models, columns, lineage, catalog of the published tables) as a static site.

    One self-contained index.html that opens from disk, plus manifest.json and catalog.json.
    """
    import shutil

    from cfz_platform.db import warehouse
    from cfz_platform.db.warehouse import WarehouseError
    from cfz_platform.ingest import ensure_raw_layer
    from cfz_platform.staged_output import staged_output
    from cfz_platform.transform.dbt_runner import DbtError, run_dbt, write_profiles

    try:
        with warehouse.connect(autocommit=True) as conn:
            ensure_raw_layer(conn)
        run_dbt(["docs", "generate", "--static", "--target", "warehouse"])
    except (DbtError, WarehouseError) as exc:
        _fail(f"dbt docs generate failed: {exc}")
    target = write_profiles() / "target"
    with staged_output(out) as stage:  # a link planted in the folder is replaced, not followed
        shutil.copyfile(target / "static_index.html", stage / "index.html")
        for name in ("manifest.json", "catalog.json"):
            shutil.copyfile(target / name, stage / name)
    typer.echo(str((out / "index.html").resolve()))


@app.command("mlflow-ui")
def mlflow_ui(
    port: int = typer.Option(5000, help="Port of the MLflow UI."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
) -> None:
    """Open the MLflow UI on the project's tracking store (runs, plots, registered models)."""
    from cfz_platform.child_processes import run_in_foreground
    from cfz_platform.db import warehouse
    from cfz_platform.ml import tracking

    uri = tracking.tracking_uri()
    store = warehouse.settings().mlflow_dbname
    typer.echo(
        f"MLflow UI on http://{host}:{port} (store: PostgreSQL database {store!r}; Ctrl-C stops it)"
    )
    # the store URLs go by environment, so the password never shows in the process list
    # one person's UI: one uvicorn worker, and none of MLflow 3's background job consumers
    cmd = [sys.executable, "-m", "mlflow", "server", "--host", host, "--port", str(port)]
    cmd += ["--workers", "1"]
    env = {
        **os.environ,
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        "MLFLOW_BACKEND_STORE_URI": uri,
        "MLFLOW_REGISTRY_STORE_URI": uri,
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
    }
    # its own process group: Ctrl-C or a SIGTERM to cfz stops mlflow and its uvicorn worker too
    raise typer.Exit(run_in_foreground(cmd, env=env))


export_app = typer.Typer(
    help="Export published data (ADaM datasets as SAS XPORT).", no_args_is_help=True
)
app.add_typer(export_app, name="export")


@export_app.command("adam")
def export_adam_cmd(
    out: Path = typer.Option(..., help="Folder for the .xpt files and define.json / define.html."),
    cut: str | None = typer.Option(
        None, "--cut", help="Export this analysis cut (schema cut_<name>_adam), not the live adam."
    ),
) -> None:
    """Export the published ADaM datasets (schema adam, or an analysis cut's) as SAS XPORT
    v5 files plus metadata.

    One file per non-empty dataset; an empty dataset (e.g. ADRS/ADTTE on a study without
    myeloma response data) is not written and is listed in the metadata with the reason.
    A cut's XPTs carry its cutoff as their header datetime: the same bytes (md5) as
    `cfz cut list` shows.
    """
    from cfz_platform.db import warehouse
    from cfz_platform.db.warehouse import WarehouseError
    from cfz_platform.export import AdamExportError, export_adam
    from cfz_platform.transform.cut import CutError, read_cut

    try:
        with warehouse.connect() as conn:
            if cut is None:
                result = export_adam(conn, out)
            else:
                found = read_cut(conn, cut)
                if found is None:
                    raise CutError(f"there is no cut {cut!r}: `cfz cut list` shows the cuts")
                result = export_adam(conn, out, schema=found.adam_schema, stamp=found.stamp)
    except (AdamExportError, CutError, WarehouseError) as exc:
        _fail(str(exc))
    for line in result.lines():
        typer.echo(line)


cut_app = typer.Typer(
    help="Frozen analysis cuts: marts and ADaM as of a cutoff date (README, Analysis cuts).",
    no_args_is_help=True,
)
app.add_typer(cut_app, name="cut")


def _parse_cutoff(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"--cutoff {value!r} is not a date: give it as YYYY-MM-DD, e.g. 2026-03-31")


@cut_app.command("create")
def cut_create(
    name: str = typer.Argument(..., help="The cut's name (schemas cut_<name>, cut_<name>_adam)."),
    cutoff: str = typer.Option(..., help="Clinical cutoff date, YYYY-MM-DD."),
    through_delivery: str | None = typer.Option(
        None, help="Last delivery id the cut reads (default: every delivery loaded so far)."
    ),
    report_out: Path | None = typer.Option(
        None,
        "--report-out",
        help="Folder for the cut's HTML report (default out/cuts/<name>/report).",
    ),
    wait: float = typer.Option(0.0, help=WAIT_HELP),
) -> None:
    """Build, gate and freeze an analysis cut: data delivered up to a delivery, restricted to
    a cutoff date, as schemas cut_<name> (marts, model scores) and cut_<name>_adam (ADaM);
    then write its report (out/cuts/<name>/report/index.html)."""
    from cfz_platform.db.warehouse import WarehouseError
    from cfz_platform.quality import QualityGateFailed
    from cfz_platform.transform.cut import CutError, create_cut
    from cfz_platform.transform.dbt_runner import DbtError

    day = _parse_cutoff(cutoff)
    with _locked("cut create", wait):
        try:
            cut = create_cut(name, day, through_delivery)
        except CutError as exc:
            _fail(str(exc))
        except QualityGateFailed as exc:
            _fail(f"blocking expectations failed, cut {name!r} was not made:\n{exc}")
        except (DbtError, WarehouseError) as exc:
            _fail(f"cut {name!r} was not made: {exc}")
    typer.echo(
        f"cut {cut.name}: cutoff {cut.cutoff}, deliveries through {cut.through_delivery} "
        f"(raw through file {cut.through_file_id}) -> schemas {cut.marts_schema}, {cut.adam_schema}"
    )
    typer.echo(f"  {_cut_model_line(cut.model_version)}")
    for line in _cut_dataset_lines(cut.datasets):
        typer.echo(line)
    from cfz_platform.report import build_report

    try:
        index = build_report(report_out or Path("out/cuts") / cut.name / "report", cut=cut.name)
    except WarehouseError as exc:
        _fail(f"cut {name!r} was made, but its report was not written: {exc}")
    typer.echo(f"  report {index.resolve()}")


def _cut_model_line(model_version: str | None) -> str:
    if model_version is None:
        return "model scores: none (no champion early-response model when the cut was made)"
    return f"model scores: early-response model version {model_version}"


def _cut_dataset_lines(datasets: dict) -> list[str]:
    return [
        f"  {n.upper():6} {d['records']:>7} records  md5 {d['md5'] or '(empty, not written)'}"
        for n, d in sorted(datasets.items())
    ]


@cut_app.command("list")
def cut_list() -> None:
    """The analysis cuts: name, cutoff, last delivery, when made, records and md5 of each XPT."""
    from cfz_platform.db import warehouse
    from cfz_platform.transform.cut import list_cuts

    with warehouse.connect(autocommit=True) as conn:
        cuts = list_cuts(conn)
    if not cuts:
        typer.echo("no analysis cuts yet (make one with `cfz cut create NAME --cutoff DATE`)")
    for cut in cuts:
        typer.echo(
            f"{cut.name}: cutoff {cut.cutoff}, deliveries through {cut.through_delivery}, "
            f"made {cut.made_at:%Y-%m-%d %H:%M:%S %Z}, schemas {cut.marts_schema}, {cut.adam_schema}"
        )
        typer.echo(f"  {_cut_model_line(cut.model_version)}")
        for line in _cut_dataset_lines(cut.datasets):
            typer.echo(line)


@cut_app.command("verify")
def cut_verify(
    name: str = typer.Argument(..., help="The cut to rebuild and compare."),
    wait: float = typer.Option(0.0, help=WAIT_HELP),
) -> None:
    """Rebuild a cut from the raw history (its cutoff, delivery and raw watermark) and compare
    its XPTs' md5 with the recorded ones; the cut itself is not touched. Exit 1 on a difference."""
    from cfz_platform.db.warehouse import WarehouseError
    from cfz_platform.quality import QualityGateFailed
    from cfz_platform.transform.cut import CutError, compute_digest_differences, verify_cut
    from cfz_platform.transform.dbt_runner import DbtError

    with _locked("cut verify", wait):
        try:
            cut, rebuilt = verify_cut(name)
        except CutError as exc:
            _fail(str(exc))
        except (QualityGateFailed, DbtError, WarehouseError) as exc:
            _fail(f"cut {name!r} could not be rebuilt: {exc}")
    differences = compute_digest_differences(cut.datasets, rebuilt)
    if differences:
        _fail(f"cut {name!r} rebuilt differently: " + "; ".join(differences))
    typer.echo(f"cut {name}: rebuilt from the raw history, every XPT has its recorded md5")
    for line in _cut_dataset_lines(rebuilt):
        typer.echo(line)


@app.command()
def report(
    out: Path | None = typer.Option(
        None,
        help="Folder for the HTML report (default out/report, a cut's out/cuts/<name>/report).",
    ),
    cut: str | None = typer.Option(
        None, "--cut", help="Report this analysis cut from its frozen schemas, not the live marts."
    ),
) -> None:
    """Write the static HTML trial report from the warehouse (marts, audit and ml tables), or
    an analysis cut's report from its frozen schemas (data quality stays live)."""
    from cfz_platform.db.warehouse import WarehouseError
    from cfz_platform.report import build_report
    from cfz_platform.report.build import ReportCutError

    default = Path("out/cuts") / cut / "report" if cut else Path("out/report")
    try:
        index = build_report(out or default, cut=cut)
    except (WarehouseError, ReportCutError) as exc:
        _fail(str(exc))
    typer.echo(str(index.resolve()))


@app.command()
def nightly(
    landing: Path = typer.Option(..., help="Landing root."),
    report_dir: Path = typer.Option(
        Path("out/report"), "--report-dir", help="Where the HTML report goes."
    ),
    train: bool | None = typer.Option(
        None,
        "--train/--no-train",
        help="Force or skip training (default: when new response data arrived).",
    ),
    force: bool = typer.Option(
        False, help="Rebuild and republish even when no new delivery arrived."
    ),
    wait: float = typer.Option(0.0, help=WAIT_HELP),
) -> None:
    """The nightly flow: ingest, gates, dbt, publish, train, score, report."""
    if not landing.is_dir():
        _fail(f"landing folder {landing} does not exist")
    from cfz_platform.orchestration.lock import LOCKED_EXIT_CODE, RunLockedError

    flow_fn = _load_flow("flows.nightly", "nightly")
    try:
        result = flow_fn(
            landing=str(landing.resolve()),
            report_dir=str(report_dir.resolve()),
            train=train,
            force=force,
            wait_for_lock_seconds=wait,
        )
    except RunLockedError as exc:
        _fail(str(exc), code=LOCKED_EXIT_CODE)
    except Exception as exc:  # noqa: BLE001 - the flow's message names the step and the reason
        if isinstance(exc.__cause__, RunLockedError):  # the ingest step waited for another ingest
            _fail(str(exc).splitlines()[0], code=LOCKED_EXIT_CODE)
        from cfz_platform.orchestration.failures import compute_known_cause, is_api_lost

        named = type(exc).__name__ == "NightlyFailed"  # names the step and the cause already
        message = (None if named else compute_known_cause(exc)) or _one_line(exc, with_type=False)
        if is_api_lost(exc):  # Prefect's log and event workers would retry the API for minutes
            typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        _fail(message)
    if result["outcome"] == "no-op":
        typer.echo("no new delivery: nothing to do")


@app.command()
def demo(
    out: Path = typer.Option(Path("out"), help="Folder for the landing, truth and report."),
    patients: int = typer.Option(45, help="Enrolled subjects in the simulated trial."),
    seed: int = typer.Option(20140127, help="Simulation seed."),
) -> None:
    """From nothing to the report: database, simulated trial, nightly flow, outputs.

    Steps: start the warehouse (embedded unless CFZ_DATABASE_URL); simulate the default trial
    into OUT/landing unless it is already there; run the nightly flow over every delivery;
    print where the report is and how to open the Prefect and MLflow UIs. Rerunning is safe:
    the simulation is reused and the nightly is a quick no-op.
    """
    from cfz_platform.config import external_database_url
    from cfz_platform.db import embedded, warehouse

    typer.echo("[demo] 1/3 warehouse")
    try:
        if not external_database_url():
            info, started = embedded.start()
            typer.echo(
                f"       embedded PostgreSQL {'started' if started else 'already running'} on 127.0.0.1:{info.port}"
            )
        warehouse.ensure_warehouse()
    except (embedded.EmbeddedClusterError, warehouse.WarehouseError) as exc:
        _fail(str(exc))
    landing = out / "landing"
    if landing.is_dir() and any(landing.iterdir()):
        typer.echo(f"[demo] 2/3 reusing the simulated trial in {landing}")
    else:
        typer.echo(
            f"[demo] 2/3 simulating the default trial ({patients} enrolled subjects, seed {seed}) into {landing}"
        )
        simulate(
            patients=patients,
            seed=seed,
            out=landing,
            deliveries=12,
            start_date="2024-01-08",
            error_rate=0.01,
            truth=out / "truth",
            scenarios="default",  # every option given: called as a function, Typer fills none
        )
    typer.echo("[demo] 3/3 nightly flow over every delivery")
    nightly(landing=landing, report_dir=out / "report", train=None, force=False, wait=60.0)
    from cfz_platform.orchestration import prefect_server

    report = (out / "report" / "index.html").resolve()
    prefect_url = prefect_server.running_api_url()
    typer.echo("")
    typer.echo("outputs")
    typer.echo(f"  trial report      {report}   (open it in a browser; it works from disk)")
    typer.echo(f"  landing / truth   {landing.resolve()}  /  {(out / 'truth').resolve()}")
    typer.echo(f"  marts (BI)        {warehouse.bi_settings().url()}")
    if prefect_url:
        typer.echo(
            f"  Prefect UI        {prefect_url.removesuffix('/api')}   (flow runs, artifacts)"
        )
    typer.echo(
        "  MLflow UI         uv run cfz mlflow-ui   (runs, plots, registered model early_response)"
    )


def _one_line(exc: BaseException, with_type: bool = True) -> str:
    """The first non-empty line of an exception's message, with its type when that says more."""
    text = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    if text and not with_type:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def main() -> None:
    """Entry point of ``cfz``: expected errors are one line; a traceback only with ``--debug``.

    Steps: run the Typer app (it exits by itself on success, usage errors and ``_fail``); any
    other exception: with ``--debug`` it propagates with its traceback; otherwise an
    infrastructure cause the platform knows (``failures.compute_known_cause``: a refused
    password, the Prefect API gone, a warehouse error) is its one line, and anything else is
    an unexpected error named in one line that says how to see more (exit 1).
    """
    debug = "--debug" in sys.argv[1:]
    try:
        app(prog_name="cfz")
    except KeyboardInterrupt:
        typer.secho("interrupted", fg=typer.colors.RED, err=True)
        raise SystemExit(130) from None
    except Exception as exc:  # noqa: BLE001 - the one place unexpected errors are turned into a line
        if debug:
            raise
        from cfz_platform.orchestration.failures import compute_known_cause

        known = compute_known_cause(exc)
        message = known or f"{_one_line(exc)} (rerun with --debug for the traceback)"
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
