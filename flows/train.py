"""Prefect flow ``train_early_response``: train, log to MLflow, register, decide the champion.

Thin by design: the work is ``cfz_platform.ml.train.train_early_response``, then the TTP Cox
models beside it (``cfz_platform.ml.ttp_training.train_ttp_model``). Steps: read the spec
(``dev``: pointed at ``dev_marts``, ``ml.destination.compute_dev_spec``); run both; publish
the summary as a markdown artifact and in the log; return the result as a dict (the TTP
summary under ``ttp_lines``).
"""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from cfz_platform.ml.destination import compute_dev_spec
from cfz_platform.ml.spec import load_spec
from cfz_platform.ml.train import summary_lines, train_early_response
from cfz_platform.ml.ttp_training import run_ttp_training
from cfz_platform.orchestration.run_logging import prepare_flow_process

# a worker-started run logs like a `cfz` one (orchestration/run_logging.py)
prepare_flow_process()


@flow(name="train_early_response")
def train_early_response_flow(dev: bool = False) -> dict:
    """Train the early-response model on marts.fct_ml_features (see models/early_response);
    ``dev``: on the developer's build (dev_marts), a development run that registers nothing."""
    logger = get_run_logger()
    spec = compute_dev_spec(load_spec()) if dev else load_spec()
    result = train_early_response(spec)
    ttp_lines = run_ttp_training(spec)
    lines = [*summary_lines(result), *ttp_lines]
    for line in lines:
        logger.info(line)
    create_markdown_artifact(
        key="early-response-training",
        markdown="\n".join(f"- {x}" for x in lines),
        description=result.decision["reason"],
    )
    return {**asdict(result), "ttp_lines": ttp_lines}
