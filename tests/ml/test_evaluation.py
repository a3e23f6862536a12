"""The hand-rolled AUC used by the bootstrap equals scikit-learn's, ties included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from cfz_platform.ml.evaluation import compute_auc, compute_bootstrap_auc_ci


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_equals_sklearn_with_and_without_ties(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 500)
    p_continuous = rng.random(500) + 0.3 * y
    p_tied = np.round(p_continuous, 1)  # many ties
    assert compute_auc(y, p_continuous) == pytest.approx(roc_auc_score(y, p_continuous), abs=1e-12)
    assert compute_auc(y, p_tied) == pytest.approx(roc_auc_score(y, p_tied), abs=1e-12)


def test_hand_worked_auc_and_interval():
    # positives 0.8, 0.4; negatives 0.4, 0.1: pairs (0.8>0.4), (0.8>0.1), (0.4=0.4 -> 1/2), (0.4>0.1) = 3.5/4
    assert compute_auc(np.array([1, 1, 0, 0]), np.array([0.8, 0.4, 0.4, 0.1])) == 0.875
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300)
    p = rng.random(300) + 0.5 * y
    low, high = compute_bootstrap_auc_ci(y, p, n_boot=300, seed=1)
    assert low < compute_auc(y, p) < high and high - low < 0.2
