"""Prefect flow ``score_early_response``: champion predictions into ml.early_response_predictions.

Thin by design: the work is ``cfz_platform.ml.scoring.score_with_champion``. Steps: run it;
log and return the result as a dict.
"""

from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger

from cfz_platform.ml.scoring import score_with_champion
from cfz_platform.orchestration.run_logging import prepare_flow_process

# a worker-started run logs like a `cfz` one (orchestration/run_logging.py)
prepare_flow_process()


@flow(name="score_early_response")
def score_early_response_flow() -> dict:
    """Score every response-evaluable subject with models:/early_response@champion."""
    logger = get_run_logger()
    result = score_with_champion()
    logger.info(
        "scored %d subjects with early_response v%s (%d predicted responders at p >= %.2f)",
        result.n_scored,
        result.model_version,
        result.n_predicted_responders,
        result.threshold,
    )
    return asdict(result)
