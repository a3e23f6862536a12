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


def _cohort(n: int = 45, seed: int = 3):
    import pandas as pd

    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {"a": rng.normal(size=n), "b": rng.normal(size=n), "g": rng.choice(["x", "y"], n)}
    )
    X.loc[X.index[::7], "b"] = np.nan  # missing values go through the imputer of each fold
    y = pd.Series((X["a"] + rng.normal(scale=0.8, size=n) > 0).astype(int))
    return X, y


@pytest.mark.parametrize("kind", ["logistic", "logistic_cv", "gradient_boosting"])
def test_cv_in_worker_processes_equals_cv_in_process(kind, monkeypatch):
    """Fold fits in two worker processes give the same out-of-fold predictions, AUC, interval
    and calibration as the same fits one after the other (fixed seeds, any order)."""
    from cfz_platform.ml.evaluation import cross_validate
    from cfz_platform.ml.pipelines import build_pipeline

    X, y = _cohort()
    pipe = build_pipeline(kind, ["a", "b"], ["g"], {"n_estimators": 20}, seed=7)
    monkeypatch.setenv("CFZ_TRAIN_JOBS", "1")
    serial = cross_validate(pipe, X, y, n_splits=5, n_repeats=5, seed=11, n_boot=200)
    monkeypatch.setenv("CFZ_TRAIN_JOBS", "2")
    parallel = cross_validate(pipe, X, y, n_splits=5, n_repeats=5, seed=11, n_boot=200)
    np.testing.assert_allclose(parallel.oof_probability, serial.oof_probability, rtol=0, atol=1e-12)
    np.testing.assert_allclose(parallel.repeat_aucs, serial.repeat_aucs, rtol=0, atol=1e-12)
    assert parallel.metrics() == pytest.approx(serial.metrics(), abs=1e-12)
    assert (parallel.n_splits, parallel.n_repeats) == (5, 5)


def test_cv_jobs_use_idle_cores_only(monkeypatch):
    from cfz_platform.ml.evaluation import MIN_PARALLEL_FITS, compute_cv_jobs

    monkeypatch.delenv("CFZ_TRAIN_JOBS", raising=False)
    assert compute_cv_jobs(100, cores=2, load=0.1) == 2  # idle 2-core machine: two workers
    assert compute_cv_jobs(100, cores=8, load=0.0) == 2  # never more than two
    # the load average counts the asking process itself (a nightly's dbt build and gates)
    assert compute_cv_jobs(100, cores=2, load=1.2) == 2
    assert compute_cv_jobs(100, cores=2, load=2.2) == 1  # one core busy elsewhere: in-process
    assert compute_cv_jobs(100, cores=2, load=9.0) == 1  # saturated machine
    assert (
        compute_cv_jobs(MIN_PARALLEL_FITS - 1, cores=2, load=0.0) == 1
    )  # too few fits to pay for workers
    monkeypatch.setenv("CFZ_TRAIN_JOBS", "3")
    assert compute_cv_jobs(5) == 3


@pytest.mark.parametrize("kind", ["logistic", "logistic_cv", "gradient_boosting"])
def test_fold_fits_without_parameter_checks_predict_exactly_as_fully_checked_fits(kind):
    """The fold fits skip scikit-learn's parameter validation (a cost in every tree of a
    gradient-boosting fold): each fold's probabilities equal a fully checked fit's, to the bit."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    from cfz_platform.ml.evaluation import compute_fold_predictions
    from cfz_platform.ml.pipelines import build_pipeline

    X, y = _cohort()
    y_arr = y.to_numpy()
    pipe = build_pipeline(kind, ["a", "b"], ["g"], {"n_estimators": 30, "subsample": 0.8}, seed=7)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=2).split(X, y_arr)
    for train_idx, test_idx in folds:
        checked = clone(pipe).fit(X.iloc[train_idx], y_arr[train_idx])
        expected = checked.predict_proba(X.iloc[test_idx])[:, 1]
        got = compute_fold_predictions(pipe, X, y_arr, train_idx, test_idx)
        assert np.array_equal(got, expected)


def _plain_bootstrap_auc_ci(y, p, n_boot, seed):
    """The bootstrap interval written one resample at a time (the model card's algorithm)."""
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(n_boot):
        idx = rng.integers(0, len(y), len(y))
        if y[idx].min() == y[idx].max():
            continue
        aucs.append(compute_auc(y[idx], p[idx]))
    return float(np.percentile(aucs, 2.5)), float(np.percentile(aucs, 97.5))


@pytest.mark.parametrize(("n", "seed"), [(6, 0), (45, 20140127), (301, 5), (2500, 1)])
def test_batched_bootstrap_interval_equals_the_one_at_a_time_interval_exactly(n, seed):
    """Resamples ranked in batches give the very interval of one-resample-at-a-time AUCs:
    odd and even n, tied scores, and (n = 6) resamples with one class only, skipped."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(int)
    y[:2] = [0, 1]
    p = np.round(rng.random(n) + 0.3 * y, 2)
    assert compute_bootstrap_auc_ci(y, p, 1000, seed) == _plain_bootstrap_auc_ci(y, p, 1000, seed)
