"""Time to progression from the C1D15 features: a Cox model against a baseline-only Cox model.

The question beside the early-response model's: on cycle 1 day 15, how does the time to
progression (TTP, domain.md 4: confirmed PD or death from PD, from ``marts.fct_time_to_event``)
depend on the baseline and kinetic features of ``marts.fct_ml_features``? Two penalised Cox
proportional-hazards models (lifelines' ``CoxPHFitter`` model, refitted in each fold by
``cox.compute_cox_fit``) are cross-validated on the same folds:
``cox_kinetic`` (every numeric feature of the model spec plus its group) and
``cox_baseline_only`` (the same without the kinetic features, the spec's ``kinetics_only``
set). The features are measured as of C1D15, so the analysis is a landmark one: subjects
still at risk on C1D15 (TTP longer than ``LANDMARK_DAYS``), time counted from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
from psycopg import sql

from cfz_platform.ml.concordance import compute_bootstrap_c_indexes, compute_c_index
from cfz_platform.ml.cox import compute_cox_fit
from cfz_platform.ml.spec import ModelSpec

#: the features' as-of day (C1D15 = first dose + 14): TTP is counted from it (landmark)
LANDMARK_DAYS = 14
#: ridge penalty of both Cox models (lifelines ``penalizer``, on standardised features)
PENALIZER = 0.1
#: where TTP is read from when the features' schema has no fct_time_to_event (a dev build)
PUBLISHED_SCHEMA = "marts"


@dataclass(frozen=True)
class CoxCvResult:
    """Cross-validated C-index of one Cox model: pooled out-of-fold, with a bootstrap 95% CI."""

    model: str
    features: list[str]
    c_index: float
    ci_low: float
    ci_high: float
    n_subjects: int
    n_events: int

    def metrics(self, prefix: str) -> dict[str, float]:
        return {
            f"{prefix}cv_c_index": self.c_index,
            f"{prefix}cv_c_index_ci_low": self.ci_low,
            f"{prefix}cv_c_index_ci_high": self.ci_high,
        }


def load_ttp_frame(conn: psycopg.Connection, spec: ModelSpec) -> pd.DataFrame:
    """The feature mart joined with each subject's TTP, landmarked at C1D15.

    Steps: 1. every row of the spec's features table with ``fct_time_to_event`` (paramcd
    TTP) of the same schema (a dev build of the feature mart alone: the published
    ``marts`` one, as ``cfz dbt`` defers): AVAL (days from the first dose, ADaM +1) and
    CNSR; 2. keep the subjects still at risk on C1D15 (AVAL > ``LANDMARK_DAYS``);
    3. ``duration`` = AVAL - ``LANDMARK_DAYS`` days, ``event`` = 1 when CNSR is 0.
    """
    schema, table = spec.features_table.split(".", 1)
    found = conn.execute(
        "select to_regclass(%s) is not null", (f"{schema}.fct_time_to_event",)
    ).fetchone()[0]
    tte = sql.Identifier(schema if found else PUBLISHED_SCHEMA, "fct_time_to_event")
    cur = conn.execute(
        sql.SQL(
            "select f.*, t.aval::float8 as ttp_aval, t.cnsr as ttp_cnsr from {} f "
            "join {} t on t.usubjid = f.usubjid and t.paramcd = 'TTP' order by f.usubjid"
        ).format(sql.Identifier(schema, table), tte)
    )
    frame = pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])
    frame = frame[frame["ttp_aval"] > LANDMARK_DAYS].reset_index(drop=True)
    return frame.assign(
        duration=frame["ttp_aval"] - LANDMARK_DAYS,
        event=(frame["ttp_cnsr"] == 0).astype(int),
    )


def compute_feature_sets(spec: ModelSpec) -> dict[str, list[str]]:
    """The numeric features of each Cox model: all of the spec's (``cox_kinetic``) and those
    without the spec's kinetics-only set (``cox_baseline_only``)."""
    kinetic = set(spec.comparison_feature_sets.get("kinetics_only", []))
    return {
        "cox_kinetic": list(spec.numeric_features),
        "cox_baseline_only": [f for f in spec.numeric_features if f not in kinetic],
    }


def derive_design(
    train: pd.DataFrame, test: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Design matrices of a training and a test frame, learned on the training frame only.

    Steps: 1. numeric features: missing values get the training median, then standardised
    with the training mean and SD (constant columns dropped); 2. categorical features: one
    indicator per training level but the first (unseen levels: all zero).
    """
    columns_train, columns_test = {}, {}
    for name in numeric:
        x_train, x_test = train[name].astype(float), test[name].astype(float)
        median = x_train.median() if x_train.notna().any() else 0.0
        x_train, x_test = x_train.fillna(median), x_test.fillna(median)
        sd = x_train.std(ddof=0)
        if not sd or np.isnan(sd):
            continue
        mean = x_train.mean()
        columns_train[name], columns_test[name] = (x_train - mean) / sd, (x_test - mean) / sd
    for name in categorical:
        levels = sorted(train[name].dropna().astype(str).unique())
        for level in levels[1:]:
            columns_train[f"{name}={level}"] = (train[name].astype(str) == level).astype(float)
            columns_test[f"{name}={level}"] = (test[name].astype(str) == level).astype(float)
    return (
        pd.DataFrame(columns_train, index=train.index),
        pd.DataFrame(columns_test, index=test.index),
    )


def compute_risk_scores(
    train: pd.DataFrame, test: pd.DataFrame, numeric: list[str], categorical: list[str]
) -> np.ndarray:
    """Fit a penalised Cox model on ``train``; the log partial hazard of each ``test`` row
    (``cox.compute_cox_fit``: lifelines' model, fitted in milliseconds)."""
    x_train, x_test = derive_design(train, test, numeric, categorical)
    fit = compute_cox_fit(
        x_train.to_numpy(float),
        train["duration"].to_numpy(float),
        train["event"].to_numpy(),
        PENALIZER,
    )
    return fit.log_partial_hazard(x_test.to_numpy(float))


def cross_validate_cox(
    frame: pd.DataFrame,
    feature_sets: dict[str, list[str]],
    categorical: list[str],
    n_splits: int,
    n_repeats: int,
    seed: int,
    n_boot: int,
) -> dict[str, CoxCvResult]:
    """Repeated stratified K-fold CV of each Cox model on the same folds; pooled C-index.

    Steps:
    1. per repeat, stratified (by event) K-fold splits from the seed; every model is fitted on
       each training fold and scores its test fold (``compute_risk_scores``);
    2. each subject's out-of-fold risk score is averaged over the repeats;
    3. Harrell's C-index of the averaged scores (higher risk, earlier progression;
       ``concordance.compute_c_index``, lifelines' definition);
    4. its 95% CI: percentile bootstrap of subjects (``n_boot`` replicates, the seed; every
       replicate's C-index in one sweep, ``concordance.compute_bootstrap_c_indexes``).
    """
    from sklearn.model_selection import RepeatedStratifiedKFold

    splitter = RepeatedStratifiedKFold(n_splits=n_splits, n_repeats=n_repeats, random_state=seed)
    scores = {name: np.zeros(len(frame)) for name in feature_sets}
    for train_idx, test_idx in splitter.split(frame, frame["event"]):
        train, test = frame.iloc[train_idx], frame.iloc[test_idx]
        for name, numeric in feature_sets.items():
            scores[name][test_idx] += compute_risk_scores(train, test, numeric, categorical)
    duration, event = frame["duration"].to_numpy(), frame["event"].to_numpy()
    rng = np.random.default_rng(seed)
    boots = [rng.integers(0, len(frame), len(frame)) for _ in range(n_boot)]
    results = {}
    for name, numeric in feature_sets.items():
        risk = scores[name] / n_repeats
        c = compute_c_index(duration, -risk, event)
        replicates = compute_bootstrap_c_indexes(duration, -risk, event, boots)
        low, high = np.percentile(replicates, [2.5, 97.5])
        results[name] = CoxCvResult(
            name, [*numeric, *categorical], c, float(low), float(high), len(frame), int(event.sum())
        )
    return results
