"""The early-response model against the simulator's oracle (``python -m cfz_platform.agreement``).

The truth folder gives each subject ``true_response_prob_latent``: the probability of the
label given the subject's actual kinetic parameters (only assay noise left), the best any
model of the C1D15 data could hope to rank by. ``compute_model_agreement`` cross-validates
the model card's primary model on the built feature mart, with the spec's own protocol
(``ml.explore.compare_feature_sets``), and sets its AUC against that oracle's, on the same
labelled subjects and the same labels (the mart's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cfz_platform.ml.evaluation import compute_auc
from cfz_platform.ml.spec import ModelSpec


@dataclass(frozen=True)
class ModelAgreement:
    """The primary model's CV metrics and the latent oracle's AUC on the same subjects."""

    n: int
    n_responders: int
    kind: str
    cv_auc: float
    cv_auc_ci_low: float
    cv_auc_ci_high: float
    calibration_slope: float
    calibration_slope_ci_low: float
    calibration_slope_ci_high: float
    oracle_auc: float

    @property
    def auc_ratio(self) -> float:
        return self.cv_auc / self.oracle_auc

    def line(self) -> str:
        return (
            f"model ({self.kind}, {self.n} labelled, {self.n_responders} responders): CV AUC "
            f"{self.cv_auc:.3f} (95% CI {self.cv_auc_ci_low:.3f}-{self.cv_auc_ci_high:.3f}), "
            f"calibration slope {self.calibration_slope:.2f} (95% CI "
            f"{self.calibration_slope_ci_low:.2f}-{self.calibration_slope_ci_high:.2f}); latent "
            f"oracle AUC {self.oracle_auc:.3f}; model / oracle {self.auc_ratio:.3f}"
        )


def compute_model_agreement(
    frame: pd.DataFrame, subjects: dict[str, dict], spec: ModelSpec
) -> ModelAgreement:
    """The model card's primary model and the latent oracle on one built trial.

    Steps: 1. keep the mart's labelled subjects that the truth knows; 2. cross-validate the
    spec's features with the spec's primary model and CV (``compare_feature_sets``); 3. AUC of
    the truth's ``true_response_prob_latent`` against the same labels.
    """
    from cfz_platform.ml.explore import compare_feature_sets

    known = frame[frame[spec.label].notna() & frame["usubjid"].isin(subjects)].reset_index(
        drop=True
    )
    row = compare_feature_sets(known, {"model card": spec.features}, spec).iloc[0]
    oracle = np.array(
        [float(subjects[u]["true_response_prob_latent"]) for u in known["usubjid"]], dtype=float
    )
    return ModelAgreement(
        n=int(row["n"]),
        n_responders=int(row["n_responders"]),
        kind=str(spec.primary["kind"]),
        cv_auc=float(row["auc"]),
        cv_auc_ci_low=float(row["auc_ci_low"]),
        cv_auc_ci_high=float(row["auc_ci_high"]),
        calibration_slope=float(row["calibration_slope"]),
        calibration_slope_ci_low=float(row["calibration_slope_ci_low"]),
        calibration_slope_ci_high=float(row["calibration_slope_ci_high"]),
        oracle_auc=compute_auc(known[spec.label].to_numpy(dtype=int), oracle),
    )


def model_against_oracle(schema: str, subjects: dict[str, dict]) -> str:
    """The model card's primary model, cross-validated on ``schema``'s feature mart, against
    the latent oracle (``compute_model_agreement``): one line."""
    from cfz_platform.ml.explore import load_feature_frame
    from cfz_platform.ml.spec import load_spec

    spec = load_spec()
    frame = load_feature_frame(schema, spec)
    return compute_model_agreement(frame, subjects, spec).line()
