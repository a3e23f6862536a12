"""The translational researcher's loop: look for a predictor without touching production.

Four calls (``notebooks/exploring_predictors.ipynb`` uses them in this order):

- ``load_feature_frame(schema)``: the feature mart as of C1D15 with its labels, from the
  published ``marts`` or a developer's ``cfz dbt`` build (``dev_marts``), every column kept
  (a candidate predictor the spec does not name yet included);
- ``compute_univariate_table(frame, features)``: per feature, its AUC with a bootstrap 95%
  interval and the odds ratio per standard deviation with a Wald 95% interval;
- ``compare_feature_sets(frame, {name: [features]})``: each feature set with the model card's
  own protocol (the spec's primary model, its repeated stratified CV, the same folds for
  every set), so a candidate is judged exactly as the registered model was;
- ``train_development(schema)``: a full training run on the dev build, logged to the
  experiment ``early_response-dev``; it registers nothing (``ml.destination``).

Nothing here writes the warehouse or the registry.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from cfz_platform.db import warehouse
from cfz_platform.ml.destination import DEV_SCHEMA, PUBLISHED_SCHEMA, compute_dev_spec
from cfz_platform.ml.evaluation import (
    compute_auc,
    compute_bootstrap_auc_ci,
    compute_logistic_mle,
)
from cfz_platform.ml.features import FeaturesError, load_features
from cfz_platform.ml.spec import ModelSpec, load_spec

#: Columns of the feature mart that are neither features nor labels.
ID_COLUMNS = (
    "usubjid",
    "as_of_date",
    "first_dose_date",
    "label_cutoff_date",
    "driving_parameter",
    "n_kinetic_points",
)
LABELS = ("label_pr", "label_mr", "label_vgpr")


def compute_spec_for_schema(spec: ModelSpec, schema: str) -> ModelSpec:
    """The spec reading its feature table from ``schema`` (``marts``: unchanged)."""
    if schema == PUBLISHED_SCHEMA:
        return spec
    return compute_dev_spec(spec, schema)


def load_feature_frame(
    schema: str = PUBLISHED_SCHEMA, spec: ModelSpec | None = None
) -> pd.DataFrame:
    """The feature mart of ``schema``: one row per response-evaluable subject, features as of
    C1D15 (``as_of_date``) and the labels (0/1, missing when not yet known).

    Steps: 1. point the spec at ``<schema>.fct_ml_features``; 2. read it
    (``features.load_features``: the spec's features typed, a clear error when the table or a
    column the spec names is missing); 3. cast every other numeric column (a candidate
    predictor) to float, so it can be screened and modelled like the others.
    """
    spec = compute_spec_for_schema(spec or load_spec(), schema)
    with warehouse.connect() as conn:
        frame = load_features(conn, spec)
    for col in frame.columns:
        if col in ID_COLUMNS or col in LABELS or col in spec.categorical_features:
            continue
        converted = pd.to_numeric(frame[col], errors="coerce")
        if converted.notna().sum() == frame[col].notna().sum():
            frame[col] = converted.astype(float)
    return frame


def compute_candidate_columns(frame: pd.DataFrame, spec: ModelSpec | None = None) -> list[str]:
    """The numeric columns of the feature mart that the spec does not use yet."""
    spec = spec or load_spec()
    return [
        c
        for c in frame.columns
        if c not in ID_COLUMNS
        and c not in LABELS
        and c not in spec.features
        and pd.api.types.is_float_dtype(frame[c])
    ]


def compute_logistic_odds_ratio(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Odds ratio per standard deviation of ``x`` from an unpenalised univariate logistic
    regression, its Wald 95% interval and p value.

    Steps: 1. standardise x; 2. maximum-likelihood fit of y ~ a + b z
    (``evaluation.compute_logistic_mle``); 3. OR = exp(b), interval exp(b -/+ 1.96 se),
    two-sided Wald p. Complete separation (no finite maximum) gives an OR of 0 or infinity
    with no interval (NaN).
    """
    z = (x - x.mean()) / x.std()
    fit = compute_logistic_mle(z, y, max_slope=15.0)
    if fit is None:
        high = compute_auc(y, x) > 0.5
        return (math.inf if high else 0.0), math.nan, math.nan, math.nan
    _, b, se = fit
    return (
        math.exp(b),
        math.exp(b - 1.959964 * se),
        math.exp(b + 1.959964 * se),
        float(2 * norm.sf(abs(b / se))),
    )


def compute_univariate_table(
    frame: pd.DataFrame,
    features: Sequence[str] | None = None,
    label: str | None = None,
    spec: ModelSpec | None = None,
) -> pd.DataFrame:
    """One row per numeric feature: how well it alone separates responders.

    Steps, per feature, on the labelled subjects with a value: 1. n and responders; 2. AUC of
    the raw value (above 0.5: higher values go with response; below: lower values do) and its
    subject-level bootstrap 95% interval (the spec's seed and number of replicates, as the
    model's own interval); 3. odds ratio per SD with its Wald interval and p value
    (``compute_logistic_odds_ratio``). Sorted by distance of the AUC from 0.5, strongest first.
    """
    spec = spec or load_spec()
    label = label or spec.label
    features = list(features) if features is not None else spec.numeric_features
    labelled = frame[frame[label].notna()]
    rows = []
    for col in features:
        known = labelled[labelled[col].notna()]
        x = known[col].to_numpy(dtype=float)
        y = known[label].to_numpy(dtype=int)
        row: dict = {"feature": col, "n": len(known), "n_responders": int(y.sum())}
        if y.min(initial=1) == y.max(initial=0) or np.ptp(x) == 0:
            rows.append({**row, "auc": math.nan})
            continue
        lo, hi = compute_bootstrap_auc_ci(
            y, x, int(spec.cv.get("bootstrap", 1000)), int(spec.cv["seed"])
        )
        odds, or_lo, or_hi, p_value = compute_logistic_odds_ratio(x, y)
        rows.append(
            {
                **row,
                "auc": compute_auc(y, x),
                "auc_ci_low": lo,
                "auc_ci_high": hi,
                "odds_ratio_per_sd": odds,
                "or_ci_low": or_lo,
                "or_ci_high": or_hi,
                "p_value": p_value,
            }
        )
    table = pd.DataFrame(rows)
    strength = (table["auc"] - 0.5).abs()
    return (
        table.assign(_s=strength)
        .sort_values("_s", ascending=False, na_position="last")
        .drop(columns="_s")
        .reset_index(drop=True)
    )


def compare_feature_sets(
    frame: pd.DataFrame,
    feature_sets: Mapping[str, Sequence[str]],
    spec: ModelSpec | None = None,
    label: str | None = None,
) -> pd.DataFrame:
    """Each feature set under the model card's own validation: one row per set.

    Steps: 1. per set, the spec's primary pipeline (its kind and parameters, median imputation
    with missing indicators, one-hot for the spec's categorical features) on those columns;
    2. all sets cross-validated together on the same folds (``evaluation.
    start_cross_validation`` with ``train.compute_cv_settings``: the spec's folds, repeats,
    seed and bootstrap) over the labelled subjects; 3. per set: CV AUC with its bootstrap and
    CV-spread intervals, Brier score, calibration slope and intercept, and the AUC gain over
    the first set.
    """
    from cfz_platform.ml.evaluation import start_cross_validation
    from cfz_platform.ml.pipelines import build_pipeline
    from cfz_platform.ml.train import compute_cv_settings

    spec = spec or load_spec()
    label = label or spec.label
    known = frame[frame[label].notna()]
    columns = sorted({c for cols in feature_sets.values() for c in cols})
    missing = [c for c in columns if c not in known.columns]
    if missing:
        raise FeaturesError(f"the feature frame has no column(s) {', '.join(missing)}")
    pipes = {}
    for name, cols in feature_sets.items():
        categorical = [c for c in cols if c in spec.categorical_features]
        numeric = [c for c in cols if c not in categorical]
        pipes[name] = build_pipeline(
            spec.primary["kind"], numeric, categorical, spec.primary, int(spec.cv["seed"])
        )
    X, y = known[columns], known[label].astype(int)
    results = start_cross_validation(pipes, X, y, **compute_cv_settings(spec, len(y))).results()
    first = next(iter(results.values())).auc
    rows = [
        {
            "feature_set": name,
            "n_features": len(feature_sets[name]),
            **res.metrics(),
            "auc_gain": res.auc - first,
            "n": res.n,
            "n_responders": res.n_positive,
            "cv_folds": res.n_splits,
            "cv_repeats": res.n_repeats,
        }
        for name, res in results.items()
    ]
    return pd.DataFrame(rows)


def compute_extended_spec(spec: ModelSpec, numeric: Sequence[str]) -> ModelSpec:
    """The spec with extra numeric features appended (what one line in spec.yaml does)."""
    added = [c for c in numeric if c not in spec.numeric_features]
    return dataclasses.replace(spec, numeric_features=[*spec.numeric_features, *added])


def train_development(schema: str = DEV_SCHEMA, spec: ModelSpec | None = None):
    """A full training run (``train.train_early_response``) on ``<schema>.fct_ml_features``:
    logged to the experiment ``early_response-dev``, nothing registered. ``schema`` must not
    be the published ``marts``."""
    from cfz_platform.ml.train import train_early_response

    if schema == PUBLISHED_SCHEMA:
        raise ValueError("train_development trains on a dev build: use `cfz train` for marts")
    return train_early_response(compute_dev_spec(spec or load_spec(), schema))
