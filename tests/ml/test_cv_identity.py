"""The training run's validation is exactly the validation it always was.

``reference_cv`` is the repeated stratified CV written the plain way (one pipeline at a time,
one fully checked scikit-learn fit per fold on a DataFrame slice, in order, in-process): the
algorithm of the model card. The production path (every candidate pipeline's fold fits in one
pool of worker processes, longest first, collected as they complete) must give the same
out-of-fold probabilities and the same metrics, to the last bit.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from cfz_platform.ml.evaluation import (
    compute_bootstrap_auc_ci,
    compute_calibration,
    compute_calibration_slope_ci,
)
from cfz_platform.ml.spec import load_spec


def reference_cv(pipeline, X: pd.DataFrame, y: pd.Series, n_splits, n_repeats, seed, n_boot):
    """Repeated stratified CV, serial and plain: (metrics, oof probability, repeat AUCs)."""
    y_arr = np.asarray(y, dtype=int)
    k = max(2, min(n_splits, int(min(y_arr.sum(), len(y_arr) - y_arr.sum()))))
    oof = np.zeros((n_repeats, len(y_arr)))
    for r in range(n_repeats):
        for tr, te in StratifiedKFold(k, shuffle=True, random_state=seed + r).split(X, y_arr):
            model = clone(pipeline).fit(X.iloc[tr], y_arr[tr])
            oof[r, te] = model.predict_proba(X.iloc[te])[:, 1]
    repeat_aucs = np.array([roc_auc_score(y_arr, oof[r]) for r in range(n_repeats)])
    mean_p = oof.mean(axis=0)
    lo, hi = compute_bootstrap_auc_ci(y_arr, mean_p, n_boot, seed)
    slope, intercept = compute_calibration(y_arr, mean_p)
    metrics = {
        "auc": float(repeat_aucs.mean()),
        "auc_ci_low": lo,
        "auc_ci_high": hi,
        "auc_cv_low": float(np.percentile(repeat_aucs, 2.5)),
        "auc_cv_high": float(np.percentile(repeat_aucs, 97.5)),
        "brier": float(brier_score_loss(y_arr, mean_p)),
        "calibration_slope": slope,
        "calibration_intercept": intercept,
    }
    metrics["calibration_slope_ci_low"], metrics["calibration_slope_ci_high"] = (
        compute_calibration_slope_ci(y_arr, mean_p)
    )
    return metrics, mean_p, repeat_aucs


def spec_cohort(n: int = 45, seed: int = 4) -> tuple[pd.DataFrame, pd.Series]:
    """A cohort with the spec's features: missing kinetics, a categorical with a missing level,
    a response driven by the C1D15 fall."""
    spec = load_spec()
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({col: rng.normal(size=n) for col in spec.numeric_features})
    X["pct_change_c1d15"] = rng.uniform(-80, 20, n)
    X.loc[X.index % 7 == 3, "pct_change_c1d8"] = np.nan
    X.loc[X.index % 11 == 5, "baseline_b2m"] = np.nan
    X["group_label"] = rng.choice(["dose escalation", "expansion"], n).astype(object)
    X.loc[X.index % 13 == 6, "group_label"] = None
    y = pd.Series((X["pct_change_c1d15"] + rng.normal(0, 25, n) < -30).astype(int))
    return X[spec.features], y


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_candidate_cvs_in_one_pool_equal_the_plain_cv_to_the_bit(jobs, monkeypatch):
    """All four candidates (the spec's pipelines, 150-tree comparator included), in-process and
    in two worker processes: out-of-fold probabilities, per-repeat AUCs and every metric equal
    the plain serial CV's exactly (a few repeats keep the test short; the code path is the one
    a 20-repeat run takes)."""
    from cfz_platform.ml.train import (
        candidate_pipelines,
        compute_cv_settings,
        start_candidate_cvs,
    )

    spec = load_spec()
    spec = dataclasses.replace(spec, cv={**spec.cv, "n_repeats": 3, "bootstrap": 200})
    X, y = spec_cohort()
    monkeypatch.setenv("CFZ_TRAIN_JOBS", jobs)
    pipes = candidate_pipelines(spec)
    got = start_candidate_cvs(spec, pipes, X, y).results()  # the path training takes
    assert list(got) == ["primary", "comparator", "baseline_only", "kinetics_only"]
    settings = compute_cv_settings(spec, len(y))
    assert settings["n_repeats"] == 3 and settings["n_splits"] == 5
    for name, pipe in pipes.items():
        metrics, oof, repeat_aucs = reference_cv(pipe, X, y, **settings)
        assert np.array_equal(got[name].oof_probability, oof), name
        assert np.array_equal(got[name].repeat_aucs, repeat_aucs), name
        assert got[name].metrics() == metrics, name
        assert (got[name].n_splits, got[name].n_repeats) == (5, 3)


def test_longest_fits_are_started_first():
    from cfz_platform.ml.folds import compute_fit_order
    from cfz_platform.ml.train import candidate_pipelines

    pipes = candidate_pipelines(load_spec())
    assert compute_fit_order(pipes) == ["comparator", "primary", "baseline_only", "kinetics_only"]


def test_too_few_subjects_in_a_class_is_one_clear_error():
    from cfz_platform.ml.evaluation import cross_validate
    from cfz_platform.ml.train import candidate_pipelines

    X, y = spec_cohort(n=12)
    y[:] = 0
    y.iloc[0] = 1
    with pytest.raises(ValueError, match="only 1 subject\\(s\\) in the smaller label class"):
        cross_validate(candidate_pipelines(load_spec())["primary"], X, y)


@pytest.mark.parametrize("kind", ["logistic", "logistic_cv", "gradient_boosting"])
def test_fold_fits_on_the_array_predict_exactly_as_on_the_frame(kind):
    """The fold fits read the frame's values as one array through a positional copy of the
    pipeline: each fold's probabilities equal the frame pipeline's to the bit, with missing
    numbers, a missing category, and a feature missing in (almost) every row, so that whole
    training folds hold none of it (the imputer keeps the empty feature)."""
    from sklearn.model_selection import StratifiedKFold

    from cfz_platform.ml.folds import compute_fold_predictions
    from cfz_platform.ml.pipelines import (
        build_pipeline,
        compute_feature_array,
        positional_pipeline,
    )

    spec = load_spec()
    X, y = spec_cohort(n=40, seed=9)
    X["ecog_baseline"] = np.nan
    X.loc[[3, 17], "ecog_baseline"] = [1.0, 2.0]
    y_arr = y.to_numpy()
    pipe = build_pipeline(
        kind, spec.numeric_features, spec.categorical_features, {"n_estimators": 40}, seed=3
    )
    twin = positional_pipeline(pipe, list(X.columns))
    values = compute_feature_array(X)
    assert values.dtype == object and twin is not None
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=1).split(X, y_arr):
        expected = clone(pipe).fit(X.iloc[tr], y_arr[tr]).predict_proba(X.iloc[te])[:, 1]
        assert np.array_equal(compute_fold_predictions(twin, values, y_arr, tr, te), expected)


def test_permutation_importances_equal_those_of_the_frame_model():
    """The run's permutation importances (scored on the positional twin of the fitted model)
    equal scikit-learn's on the fitted frame pipeline itself, to the bit."""
    from sklearn.inspection import permutation_importance

    from cfz_platform.ml.train import _importances, candidate_pipelines

    spec = load_spec()
    X, y = spec_cohort()
    model = clone(candidate_pipelines(spec)["primary"]).fit(X, y)
    _, means, stds = _importances(spec, model, X, y)
    plain = permutation_importance(
        model, X, y, scoring="roc_auc", n_repeats=10, random_state=int(spec.cv["seed"])
    )
    assert list(means.values()) == plain.importances_mean.tolist()
    assert list(stds.values()) == plain.importances_std.tolist()
