"""scikit-learn pipelines: imputation (with missing indicators) inside the model.

Missing kinetics (no result near C1D8 / C1D15) are never dropped: ``SimpleImputer`` fills
the median learnt on the training folds and ``add_indicator=True`` adds a 0/1 column saying
the value was missing, so the model can learn from the absence itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

#: The inverse penalties ``logistic_cv`` chooses from (1e-2 .. 1e2, evenly on a log scale).
DEFAULT_CS = tuple(float(c) for c in np.logspace(-2, 2, 9))


def _preprocessor(numeric: list[str], categorical: list[str], scale: bool) -> ColumnTransformer:
    num_steps: list[tuple[str, Any]] = [
        ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))
    ]
    if scale:
        num_steps.append(("scale", StandardScaler()))
    transformers: list[tuple] = [("num", Pipeline(num_steps), numeric)]
    if categorical:
        cat = Pipeline(
            [
                ("impute", SimpleImputer(strategy="constant", fill_value="missing")),
                (
                    "onehot",
                    OneHotEncoder(handle_unknown="ignore", drop="if_binary", sparse_output=False),
                ),
            ]
        )
        transformers.append(("cat", cat, categorical))
    return ColumnTransformer(transformers, remainder="drop", verbose_feature_names_out=True)


def build_pipeline(
    kind: str,
    numeric: list[str],
    categorical: list[str],
    params: dict[str, Any] | None = None,
    seed: int = 0,
) -> Pipeline:
    """Build an unfitted pipeline.

    Steps:
    1. numeric columns: median imputation with missing indicators (+ standardisation for
       the logistic model); categorical columns: constant imputation + one-hot;
    2. ``logistic``: L2-penalized ``LogisticRegression(C)``; ``logistic_cv``: the same with C
       chosen by an inner stratified k-fold CV on the rows it is fitted on
       (``LogisticRegressionCV``, log loss, ``Cs`` default ``DEFAULT_CS``): inside an outer CV
       fold the choice sees only that fold's training rows, so the outer CV is nested and
       its AUC unbiased; ``gradient_boosting``: shallow, subsampled
       ``GradientBoostingClassifier`` (single-threaded, fast on a few hundred rows).
    """
    params = dict(params or {})
    params.pop("kind", None)
    if kind == "logistic":
        model = LogisticRegression(
            C=float(params.get("C", 1.0)), l1_ratio=0.0, solver="lbfgs", max_iter=2000
        )
        return Pipeline(
            [("prep", _preprocessor(numeric, categorical, scale=True)), ("model", model)]
        )
    if kind == "logistic_cv":
        model = LogisticRegressionCV(
            Cs=[float(c) for c in params.get("Cs", DEFAULT_CS)],
            l1_ratios=(0.0,),
            cv=StratifiedKFold(int(params.get("inner_folds", 5)), shuffle=True, random_state=seed),
            scoring=str(params.get("inner_scoring", "neg_log_loss")),
            solver="lbfgs",
            max_iter=2000,
            use_legacy_attributes=False,
        )
        return Pipeline(
            [("prep", _preprocessor(numeric, categorical, scale=True)), ("model", model)]
        )
    if kind == "gradient_boosting":
        model = GradientBoostingClassifier(
            max_depth=int(params.get("max_depth", 2)),
            learning_rate=float(params.get("learning_rate", 0.05)),
            n_estimators=int(params.get("n_estimators", 150)),
            min_samples_leaf=int(params.get("min_samples_leaf", 5)),
            subsample=float(params.get("subsample", 0.8)),
            random_state=seed,
        )
        return Pipeline(
            [("prep", _preprocessor(numeric, categorical, scale=False)), ("model", model)]
        )
    raise ValueError(f"unknown model kind {kind!r}: use logistic, logistic_cv or gradient_boosting")


def feature_names_out(pipeline: Pipeline) -> list[str]:
    """Names of the columns the fitted model sees (imputed, indicators, one-hot)."""
    return [str(n) for n in pipeline.named_steps["prep"].get_feature_names_out()]


def positional_pipeline(pipeline: Pipeline, columns: list[str]) -> Pipeline | None:
    """An unfitted copy of ``pipeline`` that reads a plain array whose columns are ``columns``
    (``compute_feature_array``) instead of a DataFrame; None when it cannot.

    Steps: 1. clone the pipeline (same parameters, unfitted); 2. in its first step, a
    ``ColumnTransformer`` that drops the remainder, replace each transformer's column names
    by their positions in ``columns``. The fold fits of a CV use it: the same transformers
    and model on the same values, without pandas' per-call costs (about half a logistic fold
    fit's time); the predictions are bit-identical (``tests/ml/test_cv_identity.py``).
    """
    pipe = clone(pipeline)
    prep = pipe.steps[0][1]
    if not isinstance(prep, ColumnTransformer) or prep.remainder != "drop":
        return None
    transformers = []
    for name, transformer, cols in prep.transformers:
        if not isinstance(cols, list) or not all(c in columns for c in cols):
            return None
        transformers.append((name, transformer, [columns.index(c) for c in cols]))
    prep.set_params(transformers=transformers)
    return pipe


def compute_feature_array(X: pd.DataFrame) -> np.ndarray:
    """The frame's values as one object array (floats stay floats, text and None stay as
    they are), the input of a ``positional_pipeline``: converted once per CV, not per fold."""
    return X.to_numpy(dtype=object)
