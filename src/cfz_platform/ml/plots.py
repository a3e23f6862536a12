"""Diagnostic plots written as PNG files (matplotlib, non-interactive backend)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402


def plot_roc(curves: dict[str, tuple[np.ndarray, np.ndarray, float]], path: Path) -> Path:
    """ROC curves of out-of-fold predictions, one line per model (label -> (y, p, auc))."""
    fig, ax = plt.subplots(figsize=(5, 5))
    for label, (y, p, auc) in curves.items():
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{label} (CV AUC {auc:.2f})")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC, out-of-fold predictions")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_reliability(
    y: np.ndarray,
    p: np.ndarray,
    slope: float,
    intercept: float,
    path: Path,
    n_bins: int | None = None,
) -> Path:
    """Reliability diagram: observed rate vs mean predicted probability in quantile bins.

    Steps: 1. bins = quantiles of p (5 bins below 100 subjects, else 10); 2. per bin, mean p
    and observed proportion with its size as marker area; 3. diagonal = perfect calibration.
    """
    n_bins = n_bins or (5 if len(y) < 100 else 10)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)))
    which = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    xs, ys, ns = [], [], []
    for b in np.unique(which):
        m = which == b
        xs.append(p[m].mean())
        ys.append(np.asarray(y)[m].mean())
        ns.append(m.sum())
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
    ax.scatter(xs, ys, s=np.array(ns) * 8, alpha=0.7)
    ax.plot(xs, ys)
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1),
        xlabel="mean predicted probability",
        ylabel="observed proportion",
        title=f"Calibration (slope {slope:.2f}, intercept {intercept:.2f})",
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_bars(
    values: dict[str, float], title: str, path: Path, errors: dict[str, float] | None = None
) -> Path:
    """Horizontal bar chart (coefficients or permutation importances), sorted by size."""
    items = sorted(values.items(), key=lambda kv: abs(kv[1]))
    fig, ax = plt.subplots(figsize=(6, 0.35 * len(items) + 1.2))
    names = [k for k, _ in items]
    err = [errors.get(k, 0.0) for k in names] if errors else None
    ax.barh(names, [v for _, v in items], xerr=err, color="steelblue")
    ax.axvline(0, c="grey", lw=0.8)
    ax.set_title(title, fontsize=10)
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
