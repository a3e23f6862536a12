"""Harrell's C-index of a risk score, for the data and for many bootstrap resamples at once.

The same C-index as lifelines' ``concordance_index(time, predicted, event)`` (``predicted``:
higher means longer survival), whose definition is:

- a pair (i, j) is comparable when i had the event and j was still in the study after it:
  ``T_i < T_j``, or ``T_i == T_j`` with j censored (two events at one time, or a censored
  i, are not comparable);
- it is concordant when ``predicted_j > predicted_i``, and counts 0.5 when they are equal;
- C = (concordant + 0.5 tied) / comparable.

A bootstrap resample of subjects is the same data with each subject weighted by the number of
times it was drawn (a subject paired with its own copy is never comparable: same time, same
event status). So one sweep over the subjects, carrying a weight per resample, gives every
resample's C-index. lifelines computes one resample at a time in pure Python (a binary tree
per call): with it, the TTP cross-validation of a 10,000-subject trial (2 models x 1,000
resamples of 8,737 subjects) took 63 s of CPU; with this module's sweep, 3.4 s.
``tests/ml/test_concordance.py`` checks it against lifelines, ties and censoring included.
"""

from __future__ import annotations

import numpy as np


def _check(time: np.ndarray, predicted: np.ndarray, event: np.ndarray) -> None:
    if not (len(time) == len(predicted) == len(event)):
        raise ValueError("time, predicted and event must have the same length")
    if np.isnan(predicted).any() or np.isnan(time).any():
        raise ValueError("NaNs detected in the times or the predicted scores")


def compute_weighted_concordance(
    time: np.ndarray, predicted: np.ndarray, event: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """The C-index for each row of ``weights`` (resamples x subjects, counts >= 0).

    Steps:
    1. rank the predicted scores (1..m over their distinct values) for a Fenwick tree whose
       every node holds one count per resample;
    2. sweep the distinct times from the last to the first; at time t the tree holds every
       subject that left later (``T > t``), events and censored alike;
    3. for each event i at t: its comparable weight is the tree's total plus the censored
       subjects at t; its concordant weight those with a higher score, its tied weight those
       with an equal score (tree prefix sums, plus the censored at t compared directly); each
       is added times i's own weight;
    4. insert every subject of t into the tree;
    5. C = (concordant + tied / 2) / comparable per resample; a resample without a comparable
       pair raises ``ZeroDivisionError`` as lifelines does.
    """
    time = np.asarray(time, dtype=float)
    predicted = np.asarray(predicted, dtype=float)
    event = np.asarray(event).astype(bool)
    _check(time, predicted, event)
    w = np.atleast_2d(np.asarray(weights, dtype=np.int64)).T.copy()  # subjects x resamples
    n_boot = w.shape[1]
    values = np.unique(predicted)
    rank = np.searchsorted(values, predicted) + 1  # 1-based Fenwick positions
    size = len(values)
    tree = np.zeros((size + 1, n_boot), dtype=np.int64)
    inserted = np.zeros(n_boot, dtype=np.int64)
    pairs = np.zeros(n_boot, dtype=np.int64)
    correct = np.zeros(n_boot, dtype=np.int64)
    tied = np.zeros(n_boot, dtype=np.int64)

    def prefix(pos: int) -> np.ndarray:
        total = np.zeros(n_boot, dtype=np.int64)
        while pos > 0:
            total += tree[pos]
            pos -= pos & -pos
        return total

    order = np.argsort(-time, kind="stable")
    bounds = np.flatnonzero(np.diff(time[order]) != 0) + 1
    for group in np.split(order, bounds):
        censored = group[~event[group]]
        died = group[event[group]]
        if len(died):
            censored_weight = w[censored].sum(axis=0)
            for i in died:
                up_to = prefix(rank[i])
                below = prefix(rank[i] - 1)
                higher = inserted - up_to
                equal = up_to - below
                if len(censored):
                    higher = higher + w[censored[predicted[censored] > predicted[i]]].sum(axis=0)
                    equal = equal + w[censored[predicted[censored] == predicted[i]]].sum(axis=0)
                pairs += w[i] * (inserted + censored_weight)
                correct += w[i] * higher
                tied += w[i] * equal
        for j in group:
            pos = rank[j]
            while pos <= size:
                tree[pos] += w[j]
                pos += pos & -pos
            inserted += w[j]
    if (pairs == 0).any():
        raise ZeroDivisionError("No admissable pairs in the dataset.")
    return (correct + tied / 2) / pairs


def compute_c_index(time: np.ndarray, predicted: np.ndarray, event: np.ndarray) -> float:
    """Harrell's C-index of ``predicted`` (higher: longer survival), lifelines' definition."""
    ones = np.ones((1, len(np.asarray(time))), dtype=np.int64)
    return float(compute_weighted_concordance(time, predicted, event, ones)[0])


def compute_bootstrap_c_indexes(
    time: np.ndarray, predicted: np.ndarray, event: np.ndarray, draws: list[np.ndarray]
) -> np.ndarray:
    """The C-index of each bootstrap resample (``draws``: arrays of drawn subject indexes),
    skipping resamples that drew no event; equal to lifelines' ``concordance_index`` of
    ``(time[b], predicted[b], event[b])`` for each kept resample ``b``."""
    event = np.asarray(event).astype(bool)
    n = len(event)
    kept = [b for b in draws if event[b].any()]
    if not kept:
        return np.array([])
    weights = np.stack([np.bincount(b, minlength=n) for b in kept])
    return compute_weighted_concordance(time, predicted, event, weights)
