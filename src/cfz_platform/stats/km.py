"""Kaplan-Meier estimator with Greenwood variance and log-log confidence intervals.

Own implementation (checked against lifelines in tests/response/test_stats_km.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from scipy.stats import norm


@dataclass
class KaplanMeier:
    """The fitted step function; row i holds the estimate just after ``time[i]``."""

    time: list[float] = field(default_factory=list)
    n_at_risk: list[int] = field(default_factory=list)
    n_events: list[int] = field(default_factory=list)
    n_censored: list[int] = field(default_factory=list)
    survival: list[float] = field(default_factory=list)
    ci_lower: list[float | None] = field(default_factory=list)
    ci_upper: list[float | None] = field(default_factory=list)
    n_subjects: int = 0
    total_events: int = 0
    median: float | None = None
    median_lower: float | None = None
    median_upper: float | None = None


def _first_time_at_or_below(
    times: Sequence[float], values: Sequence[float | None], q: float
) -> float | None:
    """The smallest time whose value is <= q (None when the curve never gets there)."""
    for t, v in zip(times, values, strict=True):
        if v is not None and v <= q + 1e-15:
            return t
    return None


def compute_kaplan_meier(
    durations: Sequence[float], events: Sequence[int | bool], alpha: float = 0.05
) -> KaplanMeier:
    """Fit Kaplan-Meier to (duration, event) pairs; event 1 = event, 0 = censored.

    Steps:
    1. sort the distinct times (including time 0 as the first row, S = 1);
    2. at each time t: n = subjects with duration >= t, d = events at t, c = censored at t;
       S(t) = S(t-) * (1 - d/n);
    3. Greenwood: V = sum over event times <= t of d / (n (n - d));
    4. log-log CI: theta = log(-log S), se = sqrt(V) / |log S|,
       bounds = exp(-exp(theta +/- z se)) (their limits (1, 1) at S = 1 and (0, 0) at S = 0);
    5. median = first time with S <= 0.5; its CI (Brookmeyer-Crowley on the log-log band):
       lower = first time the lower band is <= 0.5, upper = first time the upper band is <= 0.5.
    """
    if len(durations) != len(events):
        raise ValueError("durations and events differ in length")
    pairs = sorted((float(t), 1 if e else 0) for t, e in zip(durations, events, strict=True))
    z = float(norm.ppf(1 - alpha / 2))
    km = KaplanMeier(n_subjects=len(pairs), total_events=sum(e for _, e in pairs))
    km.time.append(0.0)
    km.n_at_risk.append(len(pairs))
    km.n_events.append(sum(e for t, e in pairs if t == 0.0))
    km.n_censored.append(sum(1 - e for t, e in pairs if t == 0.0))
    s, greenwood = 1.0, 0.0
    n_at_risk = len(pairs)
    distinct = sorted({t for t, _ in pairs})
    for t in distinct:
        d = sum(e for tt, e in pairs if tt == t)
        c = sum(1 - e for tt, e in pairs if tt == t)
        if d:
            s *= 1.0 - d / n_at_risk
            greenwood += d / (n_at_risk * (n_at_risk - d)) if n_at_risk > d else math.inf
        if t == 0.0:
            km.survival.append(s)
        else:
            km.time.append(t)
            km.n_at_risk.append(n_at_risk)
            km.n_events.append(d)
            km.n_censored.append(c)
            km.survival.append(s)
        lo, hi = _loglog_bounds(s, greenwood, z)
        km.ci_lower.append(lo)
        km.ci_upper.append(hi)
        n_at_risk -= d + c
    if len(km.survival) < len(km.time):  # no subject at time 0
        km.survival.insert(0, 1.0)
        km.ci_lower.insert(0, 1.0)
        km.ci_upper.insert(0, 1.0)
    km.median = _first_time_at_or_below(km.time, km.survival, 0.5)
    km.median_lower = _first_time_at_or_below(km.time, km.ci_lower, 0.5)
    km.median_upper = _first_time_at_or_below(km.time, km.ci_upper, 0.5)
    return km


def _loglog_bounds(s: float, greenwood: float, z: float) -> tuple[float | None, float | None]:
    """Log-log transformed CI for one survival value.

    At S = 1 (before any event) and S = 0 (after the last subject had the event) the
    transform is undefined; the band is set to its limit (1, 1) and (0, 0), as lifelines does.
    """
    if s >= 1.0:
        return 1.0, 1.0
    if s <= 0.0 or math.isinf(greenwood):
        return 0.0, 0.0
    log_s = math.log(s)
    theta = math.log(-log_s)
    se = math.sqrt(greenwood) / abs(log_s)
    return math.exp(-math.exp(theta + z * se)), math.exp(-math.exp(theta - z * se))
