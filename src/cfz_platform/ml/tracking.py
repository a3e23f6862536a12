"""MLflow: where runs and models live, and the champion/challenger decision.

- Tracking and registry store: the warehouse's own PostgreSQL database
  ``<warehouse>_mlflow`` (``warehouse.settings().mlflow_url``), created by ``ensure_warehouse``.
- Artifacts: a git-ignored local folder, ``CFZ_MLFLOW_ARTIFACTS`` or ``.cfz/mlartifacts``,
  one sub-folder per tracking database (an experiment keeps the location it was created with).
- Registry: model ``early_response``; the alias ``champion`` moves to a new version only when
  that version's CV AUC is higher than the champion's on the same data (the champion's logged
  AUC when the snapshot hash is the same, else the champion's pipeline re-cross-validated on
  the new data, where a tie goes to the new version); otherwise the new version gets the
  alias ``challenger``. The decision is logged on the run and the version.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from cfz_platform.config import state_dir
from cfz_platform.db import warehouse

log = logging.getLogger(__name__)

CHAMPION = "champion"
#: Types skops may load besides its defaults: numpy dtypes, and the inner-CV splitter a
#: ``logistic_cv`` model keeps as a parameter (a plain data object, no code).
SKOPS_TRUSTED_TYPES = ["numpy.dtype", "sklearn.model_selection._split.StratifiedKFold"]
CHALLENGER = "challenger"
EXPERIMENT = "early_response"


def artifacts_root() -> Path:
    """The artifact folder: ``CFZ_MLFLOW_ARTIFACTS`` or ``.cfz/mlartifacts`` (git-ignored)."""
    env = os.environ.get("CFZ_MLFLOW_ARTIFACTS")
    path = Path(env).expanduser().resolve() if env else state_dir() / "mlartifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path


def tracking_uri() -> str:
    return warehouse.settings().mlflow_url


def check_store() -> None:
    """Fail in one line, saying what to do, when the MLflow tracking database is unreachable.

    Steps: connect to ``<warehouse>_mlflow`` (or ``CFZ_MLFLOW_DB``) as the pipeline's owner;
    on failure raise ``WarehouseError`` naming the database and the fix. MLflow itself would
    print a 70-line SQLAlchemy traceback instead.
    """
    store = warehouse.settings().mlflow_dbname
    try:
        with warehouse.connect(store):
            pass
    except warehouse.WarehousePasswordError:
        raise
    except Exception as exc:  # noqa: BLE001 - any connection failure means the same fix
        first = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        raise warehouse.WarehouseError(
            f"the MLflow tracking database {store!r} is not reachable ({first.strip()}): run "
            "`cfz db start` to create it, or set CFZ_MLFLOW_DB to an existing database"
        ) from exc


def configure() -> MlflowClient:
    """Point MLflow's tracking and registry at the project's PostgreSQL store (checked first)."""
    check_store()
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(name: str = EXPERIMENT) -> str:
    """Create the experiment (artifacts under ``artifacts_root()/<mlflow db>/<name>``) once."""
    client = configure()
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        mlflow.set_experiment(experiment_id=exp.experiment_id)
        return exp.experiment_id
    location = artifacts_root() / warehouse.settings().mlflow_dbname / name
    location.mkdir(parents=True, exist_ok=True)
    exp_id = client.create_experiment(name, artifact_location=location.as_uri())
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def model_requirements() -> list[str]:
    """Pinned runtime requirements logged with the model (skips MLflow's slow inference)."""
    from importlib.metadata import version

    return [
        f"{pkg}=={version(pkg)}"
        for pkg in ("mlflow", "scikit-learn", "numpy", "pandas", "scipy", "skops")
    ]


def model_log_arguments(model, example) -> dict:
    """The ``mlflow.sklearn.log_model`` / ``save_model`` arguments of a training run's model:
    signature and input example (first rows of the training frame), ``predict_proba`` as the
    pyfunc, skops serialization with its trusted types, pinned requirements."""
    from mlflow.models import infer_signature

    return {
        "signature": infer_signature(example, model.predict_proba(example)),
        "input_example": example,
        "pyfunc_predict_fn": "predict_proba",
        "skops_trusted_types": SKOPS_TRUSTED_TYPES,
        "pip_requirements": model_requirements(),
    }


def warm_model_logging(model, arguments: dict) -> None:
    """Pay MLflow's one-time costs of logging a model now, while the CV's worker processes
    run, instead of after them.

    Steps: save the model with the run's own arguments into a throwaway folder
    (``mlflow.sklearn.save_model``, nothing is logged or registered). The first save in a
    process imports skops (whose trusted-type table scans every loaded module), maps the
    installed distributions to check the pinned requirements, and loads the saved model back
    to validate the input example: about 1 s of CPU, after which ``log_model`` costs ~0.2 s.
    """
    import tempfile

    import mlflow.sklearn

    with tempfile.TemporaryDirectory() as tmp:
        mlflow.sklearn.save_model(model, str(Path(tmp) / "model"), **arguments)


def load_registered_model(model_uri: str):
    """Load a fitted scikit-learn pipeline from this project's own registry.

    Steps: 1. point MLflow at the project's store; 2. allow MLflow to deserialize the model
    (``MLFLOW_ALLOW_PICKLE_DESERIALIZATION``): the registry is ours, written only by
    ``cfz train``, never a model from elsewhere; 3. ``mlflow.sklearn.load_model``.
    """
    configure()
    os.environ["MLFLOW_ALLOW_PICKLE_DESERIALIZATION"] = "true"
    return mlflow.sklearn.load_model(model_uri)


@dataclass
class ChampionDecision:
    """What happened to a newly registered version."""

    model_name: str
    new_version: str
    new_cv_auc: float
    previous_champion_version: str | None
    champion_cv_auc_on_this_data: float | None
    compared_on: str  # "none", "same_snapshot" or "re-evaluated"
    promoted: bool
    alias: str
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


def current_champion(client: MlflowClient, model_name: str):
    """The model version holding the champion alias, or None."""
    try:
        return client.get_model_version_by_alias(model_name, CHAMPION)
    except MlflowException:
        return None


def latest_version_trained_on(
    client: MlflowClient, model_name: str, snapshot_hash: str, spec_hash: str
) -> str | None:
    """The newest registered version, if its run was trained on exactly this data and spec.

    Steps: find the highest version number of ``model_name``; read its run's
    ``snapshot_hash`` and ``spec_hash`` tags; return the version when both match, else None
    (also when nothing is registered yet or the run predates the ``spec_hash`` tag).
    """
    try:
        versions = client.search_model_versions(f"name = '{model_name}'")
    except MlflowException:
        return None
    if not versions:
        return None
    newest = max(versions, key=lambda v: int(v.version))
    tags = client.get_run(newest.run_id).data.tags
    if tags.get("snapshot_hash") == snapshot_hash and tags.get("spec_hash") == spec_hash:
        return str(newest.version)
    return None


def decide_champion(
    client: MlflowClient,
    model_name: str,
    new_version: str,
    new_cv_auc: float,
    snapshot_hash: str,
    reevaluate: Callable[[str], float],
) -> ChampionDecision:
    """Give ``new_version`` the champion alias only if it beats the champion on this data.

    Steps:
    1. no champion yet: promote;
    2. the champion's run was trained on the same snapshot hash: compare with its logged
       ``cv_auc``; otherwise re-run the same CV for the champion's pipeline on this data
       (``reevaluate(model_uri)``), so both are compared on identical subjects and folds;
    3. promote when the new AUC is strictly higher (on a changed snapshot, also on a tie: the
       new version is fitted on the newer data); else alias the new version ``challenger``;
    4. tag the version with the decision.
    """
    champ = current_champion(client, model_name)
    if champ is None:
        decision = ChampionDecision(
            model_name,
            str(new_version),
            new_cv_auc,
            None,
            None,
            "none",
            True,
            CHAMPION,
            "no champion yet",
        )
    else:
        run = client.get_run(champ.run_id)
        if run.data.tags.get("snapshot_hash") == snapshot_hash and "cv_auc" in run.data.metrics:
            champ_auc, compared_on = float(run.data.metrics["cv_auc"]), "same_snapshot"
        else:
            champ_auc = float(reevaluate(f"models:/{model_name}/{champ.version}"))
            compared_on = "re-evaluated"
        # same data: strictly better only; new data: ties go to the version fitted on it
        promoted = (
            new_cv_auc > champ_auc if compared_on == "same_snapshot" else new_cv_auc >= champ_auc
        )
        verdict = (
            "beats"
            if new_cv_auc > champ_auc
            else ("ties (fitted on newer data)" if promoted else "does not beat")
        )
        decision = ChampionDecision(
            model_name,
            str(new_version),
            new_cv_auc,
            str(champ.version),
            champ_auc,
            compared_on,
            promoted,
            CHAMPION if promoted else CHALLENGER,
            f"CV AUC {new_cv_auc:.4f} {verdict} champion v{champ.version} ({champ_auc:.4f}, {compared_on})",
        )
    client.set_registered_model_alias(model_name, decision.alias, str(new_version))
    client.set_model_version_tag(model_name, str(new_version), "role", decision.alias)
    client.set_model_version_tag(model_name, str(new_version), "decision", decision.reason)
    log.info("registry decision: %s", decision.reason)
    return decision
