"""scikit-learn pipelines: imputation (with missing indicators) inside the model.

Missing kinetics (no result near C1D8 / C1D15) are never dropped: ``SimpleImputer`` fills
the median learnt on the training folds and ``add_indicator=True`` adds a 0/1 column saying
the value was missing, so the model can learn from the absence itself.
"""

from __future__ import annotations

from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


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
    2. ``logistic``: L2-penalized ``LogisticRegression(C)``; ``gradient_boosting``: shallow, subsampled
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
    raise ValueError(f"unknown model kind {kind!r}: use logistic or gradient_boosting")


def feature_names_out(pipeline: Pipeline) -> list[str]:
    """Names of the columns the fitted model sees (imputed, indicators, one-hot)."""
    return [str(n) for n in pipeline.named_steps["prep"].get_feature_names_out()]
