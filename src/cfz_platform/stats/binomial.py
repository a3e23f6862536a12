"""Exact (Clopper-Pearson) binomial confidence interval."""

from __future__ import annotations

from scipy.stats import binomtest


def compute_clopper_pearson(
    x: int, n: int, alpha: float = 0.05
) -> tuple[float | None, float | None, float | None]:
    """Return (proportion, lower, upper) of the exact two-sided 1-alpha interval for x/n.

    Steps:
    1. n == 0: nothing to estimate, return (None, None, None);
    2. otherwise scipy's ``binomtest(x, n).proportion_ci(method="exact")`` (Clopper-Pearson:
       Beta quantiles, 0 at x == 0 and 1 at x == n).
    """
    if n <= 0:
        return None, None, None
    if not 0 <= x <= n:
        raise ValueError(f"clopper-pearson needs 0 <= x <= n, got x={x}, n={n}")
    ci = binomtest(x, n).proportion_ci(confidence_level=1 - alpha, method="exact")
    return x / n, float(ci.low), float(ci.high)
