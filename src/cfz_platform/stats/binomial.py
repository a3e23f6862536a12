"""Exact (Clopper-Pearson) binomial confidence interval."""

from __future__ import annotations

from scipy.stats import beta


def compute_clopper_pearson(x: int, n: int, alpha: float = 0.05) -> tuple[float | None, float | None, float | None]:
    """Return (proportion, lower, upper) of the exact two-sided 1-alpha interval for x/n.

    Steps:
    1. n == 0: nothing to estimate, return (None, None, None);
    2. lower = Beta(alpha/2; x, n-x+1) quantile, 0 when x == 0;
    3. upper = Beta(1-alpha/2; x+1, n-x) quantile, 1 when x == n.
    """
    if n <= 0:
        return None, None, None
    if not 0 <= x <= n:
        raise ValueError(f"clopper-pearson needs 0 <= x <= n, got x={x}, n={n}")
    lower = 0.0 if x == 0 else float(beta.ppf(alpha / 2, x, n - x + 1))
    upper = 1.0 if x == n else float(beta.ppf(1 - alpha / 2, x + 1, n - x))
    return x / n, lower, upper
