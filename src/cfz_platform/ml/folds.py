"""The fold fits of repeated stratified CV: planned once, run in one pool of worker processes.

A training run cross-validates four pipelines (primary, comparator and two reference models)
with the same folds. Their fold fits are independent (fixed seeds): all of them go to one pool
of worker processes at once, the long ones (boosted ensembles) first so that the short logistic
fits fill the end, while the calling process does other work (the full-data fit, MLflow set-up)
and collects each pipeline's predictions as soon as its last fold is in. The fits read the
frame's values converted once to an array (``pipelines.positional_pipeline``). A fit gives the
same probabilities in a worker process as in-process, in any order, on the array as on the
frame (``tests/ml/test_evaluation.py``, ``tests/ml/test_cv_identity.py``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn import config_context
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from cfz_platform.ml.pipelines import compute_feature_array, positional_pipeline

#: BLAS/OpenMP threads per fit. The cohorts are tens to thousands of rows and ~20 columns:
#: a second BLAS thread never pays off there, and OpenBLAS's spinning threads made each
#: small logistic fit 3-4 times slower (CPU and wall) on a busy 2-core machine.
FIT_THREADS = 1
#: Below this many fits a CV runs in-process (starting worker processes costs more).
MIN_PARALLEL_FITS = 20
#: Seconds an idle worker process waits for more fits before it exits (a champion
#: re-evaluation later in the same training run reuses the warm workers).
WORKER_IDLE_SECONDS = 60


@dataclass(frozen=True)
class CvPlan:
    """The folds of one repeated stratified CV: ``splits`` holds (repeat, train, test) rows."""

    n_splits: int
    n_repeats: int
    splits: list[tuple[int, np.ndarray, np.ndarray]]


def compute_cv_plan(y: np.ndarray, n_splits: int, n_repeats: int, seed: int) -> CvPlan:
    """The folds of every repeat.

    Steps: 1. k = min(n_splits, size of the smaller class) (at least 2, else an error);
    2. for each repeat r, ``StratifiedKFold(k, shuffle=True, random_state=seed + r)``.
    """
    y = np.asarray(y, dtype=int)
    minority = int(min(y.sum(), len(y) - y.sum()))
    if minority < 2:
        raise ValueError(
            f"cannot cross-validate: only {minority} subject(s) in the smaller label class"
        )
    k = max(2, min(n_splits, minority))
    splits = [
        (r, train_idx, test_idx)
        for r in range(n_repeats)
        for train_idx, test_idx in StratifiedKFold(
            n_splits=k, shuffle=True, random_state=seed + r
        ).split(np.zeros(len(y)), y)
    ]
    return CvPlan(k, n_repeats, splits)


def compute_cv_jobs(n_fits: int, cores: int | None = None, load: float | None = None) -> int:
    """Worker processes for ``n_fits`` independent fold fits.

    Steps: ``CFZ_TRAIN_JOBS`` when set; 1 (in-process) below ``MIN_PARALLEL_FITS`` fits;
    else the idle cores, at most 2: cores minus the 1-minute load average of *other* work
    (the load less one, the process asking, which has been running: a nightly's own dbt
    build and gates put about 1 in the load average of an otherwise idle machine); a worker
    process costs a second or two of imports, which a saturated machine does not win back.
    """
    env = os.environ.get("CFZ_TRAIN_JOBS")
    if env:
        return max(1, int(env))
    if n_fits < MIN_PARALLEL_FITS:
        return 1
    cores = cores if cores is not None else os.cpu_count() or 1
    load = load if load is not None else os.getloadavg()[0]
    others = max(0.0, load - 1.0)
    return max(1, min(2, int(cores - others + 0.5)))


def compute_fold_predictions(
    pipeline: Pipeline,
    X: pd.DataFrame | np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
) -> np.ndarray:
    """Out-of-fold probabilities of one fold: fit a clone on ``train_idx``, predict ``test_idx``
    (BLAS limited to ``FIT_THREADS``). ``X`` is a frame, or the array of a
    ``pipelines.positional_pipeline``.

    scikit-learn's parameter validation is skipped inside the fold: the same pipeline's
    parameters were validated when it was built (``pipelines.build_pipeline`` fits nothing,
    but ``train`` fits the full-data model with validation on), and re-checking them in each of
    the 15,000 trees of a 45-subject run's gradient-boosting folds cost about 7% of the CV time.
    Predictions are bit-identical (``tests/ml/test_evaluation.py``)."""
    rows = X.iloc if isinstance(X, pd.DataFrame) else X
    with threadpool_limits(FIT_THREADS), config_context(skip_parameter_validation=True):
        model = clone(pipeline).fit(rows[train_idx], y[train_idx])
        return model.predict_proba(rows[test_idx])[:, 1]


def compute_chunk_predictions(
    pipeline: Pipeline,
    X: pd.DataFrame | np.ndarray,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
) -> list[np.ndarray]:
    """``compute_fold_predictions`` of several folds of one pipeline (one worker task)."""
    return [compute_fold_predictions(pipeline, X, y, tr, te) for tr, te in folds]


def compute_fit_order(pipelines: dict[str, Pipeline]) -> list[str]:
    """Pipeline names, longest fits first: ensembles by their number of estimators (a boosted
    fold fit of 150 trees costs about five logistic ones), then the others in their order."""
    size = {
        name: int(getattr(pipe.steps[-1][1], "n_estimators", 0) or 0)
        for name, pipe in pipelines.items()
    }
    return sorted(pipelines, key=lambda name: -size[name])


def _warm_worker() -> int:
    """First task of a worker: import the fitting code while the caller prepares the folds."""
    import cfz_platform.ml.pipelines  # noqa: F401

    return os.getpid()


def start_workers(jobs: int):
    """The pool of ``jobs`` worker processes (loky, reused across calls; each worker runs
    with ``FIT_THREADS`` BLAS/OpenMP threads), with one warm-up task per worker so that they
    start importing at once. None when ``jobs`` is 1 (fits run in-process)."""
    if jobs <= 1:
        return None
    from joblib.externals.loky import get_reusable_executor

    threads = str(FIT_THREADS)
    executor = get_reusable_executor(
        max_workers=jobs,
        timeout=WORKER_IDLE_SECONDS,
        env={
            "OMP_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
        },
    )
    for _ in range(jobs):
        executor.submit(_warm_worker)
    return executor


class FoldFits:
    """The fold fits of several pipelines on one data set, started at once (``start_fold_fits``).

    ``completed()`` yields ``(name, predictions)`` per pipeline as soon as all its folds are
    in (predictions in the plan's split order); ``cancel()`` drops what has not started.
    In-process (no pool), the fits run when ``completed()`` asks for them.
    """

    def __init__(
        self,
        pipelines: dict[str, Pipeline],
        X: pd.DataFrame | np.ndarray,
        y: np.ndarray,
        plan: CvPlan,
        executor=None,
    ) -> None:
        self.pipelines, self.X, self.y, self.plan, self.executor = pipelines, X, y, plan, executor
        self.order = compute_fit_order(pipelines)
        self.chunks = [
            [(tr, te) for r, tr, te in plan.splits if r == repeat]
            for repeat in range(plan.n_repeats)
        ]
        self.futures: dict[str, list[Future]] = {}
        if executor is not None:
            for name in self.order:
                self.futures[name] = [
                    executor.submit(compute_chunk_predictions, pipelines[name], X, y, chunk)
                    for chunk in self.chunks
                ]

    def completed(self) -> Iterator[tuple[str, list[np.ndarray]]]:
        if self.executor is None:
            for name in self.order:
                yield (
                    name,
                    [
                        p
                        for chunk in self.chunks
                        for p in compute_chunk_predictions(
                            self.pipelines[name], self.X, self.y, chunk
                        )
                    ],
                )
            return
        pending = dict(self.futures)
        while pending:
            done = [n for n in self.order if n in pending and all(f.done() for f in pending[n])]
            if not done:
                running = [f for fs in pending.values() for f in fs if not f.done()]
                wait(running, return_when=FIRST_COMPLETED)
                continue
            for name in done:
                yield name, [p for f in pending.pop(name) for p in f.result()]

    def cancel(self) -> None:
        for fs in self.futures.values():
            for f in fs:
                f.cancel()


def compute_fit_inputs(
    pipelines: dict[str, Pipeline], X: pd.DataFrame
) -> tuple[dict[str, Pipeline], pd.DataFrame | np.ndarray]:
    """What the fold fits get: the frame's values as one array and each pipeline's
    ``positional_pipeline`` (half the cost of a small logistic fit went to pandas), or the
    frame and the pipelines as they are when one of them cannot read an array."""
    if not isinstance(X, pd.DataFrame):
        return pipelines, X
    columns = [str(c) for c in X.columns]
    positional = {name: positional_pipeline(pipe, columns) for name, pipe in pipelines.items()}
    if any(pipe is None for pipe in positional.values()):
        return pipelines, X
    return positional, compute_feature_array(X)


def start_fold_fits(
    pipelines: dict[str, Pipeline], X: pd.DataFrame, y: np.ndarray, plan: CvPlan
) -> FoldFits:
    """Start the fold fits of every pipeline: one pool (``compute_cv_jobs`` of all the fits),
    one task per pipeline and repeat, the longest pipelines' tasks first, on the frame's
    values converted once (``compute_fit_inputs``)."""
    jobs = compute_cv_jobs(len(plan.splits) * len(pipelines))
    fit_pipelines, fit_X = compute_fit_inputs(pipelines, X)
    return FoldFits(fit_pipelines, fit_X, y, plan, start_workers(jobs))
