"""Harrell's C-index of ``ml.concordance``: a hand-worked case, then lifelines' own values
(ties in times and in scores, censoring at an event's time, bootstrap resamples drawing a
subject several times)."""

from __future__ import annotations

import numpy as np
import pytest
from lifelines.utils import concordance_index

from cfz_platform.ml.concordance import compute_bootstrap_c_indexes, compute_c_index

# A: event on day 2, score 1; B: censored on day 4, score 3; C: event on day 4, score 2;
# D: censored on day 6, score 2 (score: higher means longer survival)
TIME = np.array([2.0, 4.0, 4.0, 6.0])
SCORE = np.array([1.0, 3.0, 2.0, 2.0])
EVENT = np.array([True, False, True, False])
A, B, C, D = range(4)


def test_hand_worked_c_index():
    # comparable: A with B, C, D (all left later; all scored higher: 3 concordant);
    # C with D (later; equal score: half) and with B (censored on C's own day: still in the
    # study after C's event; higher score: concordant). 4.5 of 5.
    assert compute_c_index(TIME, SCORE, EVENT) == pytest.approx(0.9)


def test_hand_worked_bootstrap_resample():
    # drawn A, B, B, C: A pairs with both copies of B and with C (3 concordant); C pairs with
    # both copies of B, censored on its day (2 concordant); no pair of a subject with its own
    # copy. 5 of 5. A resample drawing only censored subjects has no C-index and is skipped.
    values = compute_bootstrap_c_indexes(
        TIME, SCORE, EVENT, [np.array([A, B, B, C]), np.array([B, D, D, B])]
    )
    assert values.tolist() == [1.0]


def test_two_events_on_one_day_are_not_compared():
    # only A and C, both events on day 4: no comparable pair, as lifelines says
    with pytest.raises(ZeroDivisionError):
        compute_c_index(np.array([4.0, 4.0]), np.array([1.0, 2.0]), np.array([True, True]))


@pytest.mark.parametrize("seed", range(40))
def test_equals_lifelines_with_ties_and_censoring(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 80))
    time = rng.integers(1, 10, n).astype(float)  # many tied times
    score = rng.integers(0, 6, n).astype(float)  # many tied scores
    event = rng.random(n) < 0.6
    if not event.any():
        event[0] = True
    try:
        expected = concordance_index(time, score, event)
    except ZeroDivisionError:
        with pytest.raises(ZeroDivisionError):
            compute_c_index(time, score, event)
        return
    assert compute_c_index(time, score, event) == pytest.approx(expected, abs=1e-12)


def test_every_bootstrap_resample_equals_lifelines():
    rng = np.random.default_rng(7)
    n = 300
    time = np.round(rng.exponential(60, n))
    score = np.round(rng.normal(size=n), 1)
    event = rng.random(n) < 0.6
    draws = [rng.integers(0, n, n) for _ in range(60)]
    expected = [concordance_index(time[b], score[b], event[b]) for b in draws]
    got = compute_bootstrap_c_indexes(time, score, event, draws)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
