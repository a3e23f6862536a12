"""Matplotlib figures for the report, returned as self-contained base64 PNG images.

Every plotting function takes plain frames and returns a :class:`Figure` (a ``data:`` URI
plus its pixel size), drawn with the Agg backend so nothing needs a display.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

DPI = 100
GROUP_COLORS = {"A": "#1f77b4", "B": "#ff7f0e", "Overall": "#333333"}
RESPONSE_COLORS = {
    "sCR": "#08306b",
    "CR": "#2171b5",
    "VGPR": "#4292c6",
    "PR": "#6baed6",
    "MR": "#9ecae1",
    "SD": "#bdbdbd",
    "PD": "#d62728",
    "NE": "#f0f0f0",
}
#: Waterfall bars and spider points above these % changes are drawn at the cap and marked.
WATERFALL_CAP = 100
SPIDER_CAP = 200
RESPONSE_ORDER = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"]


@dataclass(frozen=True)
class Figure:
    """A rendered figure: ``src`` is a data URI; width/height are in pixels."""

    src: str
    width: int
    height: int
    alt: str
    caption: str


def _encode(fig: plt.Figure, alt: str, caption: str) -> Figure:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    data = buf.getvalue()
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    return Figure(src=uri, width=width, height=height, alt=alt, caption=caption)


def group_color(group: object, index: int = 0) -> str:
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"]
    return GROUP_COLORS.get(str(group), palette[index % len(palette)])


def plot_swimmer(lanes: pd.DataFrame, events: pd.DataFrame, caption: str) -> Figure:
    """Swimmer plot: one lane per subject, sorted by time on treatment.

    ``lanes``: usubjid, group, days_on_treatment, maintenance_day (or NaN), ongoing.
    ``events``: usubjid, day, kind in {response, PD, death}, label.
    Steps: 1. sort lanes by duration; 2. draw a bar per subject coloured by group;
    3. overlay maintenance start, first response of each category, PD and death markers.
    """
    lanes = lanes.sort_values("days_on_treatment").reset_index(drop=True)
    height = max(3.0, 0.22 * len(lanes) + 1.2)
    fig, ax = plt.subplots(figsize=(9, height))
    groups = list(dict.fromkeys(lanes["group"].astype(str)))
    for i, row in lanes.iterrows():
        color = group_color(row["group"], groups.index(str(row["group"])))
        ax.barh(i, row["days_on_treatment"], color=color, alpha=0.75, height=0.7)
        if pd.notna(row.get("maintenance_day")):
            ax.plot(row["maintenance_day"], i, marker="|", color="black", markersize=12, mew=2)
    pos = {u: i for i, u in enumerate(lanes["usubjid"])}
    ev = events[events["usubjid"].isin(pos)]
    styles = {"response": ("^", "#2ca02c"), "PD": ("X", "#d62728"), "death": ("s", "black")}
    for kind, (marker, color) in styles.items():
        sub = ev[ev["kind"] == kind]
        if not sub.empty:
            ax.scatter(
                sub["day"],
                sub["usubjid"].map(pos),
                marker=marker,
                color=color,
                zorder=3,
                s=36,
                label={"response": "first PR or better", "PD": "progression", "death": "death"}[
                    kind
                ],
            )
    handles, _ = ax.get_legend_handles_labels()
    handles += [
        Patch(color=group_color(g, groups.index(g)), alpha=0.75, label=f"group {g}") for g in groups
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="|",
            color="black",
            linestyle="none",
            markersize=12,
            mew=2,
            label="maintenance start",
        )
    )
    ax.set_yticks(range(len(lanes)))
    ax.set_yticklabels(lanes["usubjid"], fontsize=7)
    ax.set_xlabel("days since first study dose")
    ax.set_title("Time on treatment")
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return _encode(fig, "swimmer plot of time on treatment per subject", caption)


def plot_waterfall(best: pd.DataFrame, caption: str) -> Figure:
    """Waterfall of best % change per subject (``usubjid, best_pct, best_response``).

    Steps: 1. sort descending; 2. bar per subject coloured by best response, a rise above
    ``WATERFALL_CAP`` drawn at the cap and marked with a triangle and its value (the caption
    says how many); 3. reference lines at -25 (MR), -50 (PR) and -90 (VGPR) per cent.
    """
    best = best.sort_values("best_pct", ascending=False).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 4))
    colors = [RESPONSE_COLORS.get(str(r), "#969696") for r in best["best_response"]]
    heights = best["best_pct"].clip(upper=WATERFALL_CAP)
    clipped = best.index[best["best_pct"] > WATERFALL_CAP]
    if len(best) <= 400:
        ax.bar(range(len(best)), heights, color=colors, edgecolor="#555555", linewidth=0.4)
    else:  # thousands of bars: one line collection draws in a fraction of the time
        ax.vlines(range(len(best)), 0, heights, colors=colors, linewidth=max(0.2, 600 / len(best)))
        ax.set_xlim(-1, len(best))
    for y, label in ((-25, "MR"), (-50, "PR"), (-90, "VGPR")):
        ax.axhline(y, color="#777777", linestyle="--", linewidth=0.8)
        ax.text(len(best) - 0.5, y, f" {label}", va="center", fontsize=7, color="#555555")
    ax.axhline(0, color="black", linewidth=0.8)
    present = [r for r in RESPONSE_ORDER if r in set(best["best_response"].astype(str))]
    if present:
        ax.legend(
            handles=[Patch(color=RESPONSE_COLORS[r], label=r) for r in present],
            title="best response",
            fontsize=7,
            ncol=4,
            loc="upper right",
        )
    ax.set_xticks([])
    top = max(40.0, float(heights.max()) + 10)
    if len(clipped):
        top = WATERFALL_CAP + 22
        ax.scatter(clipped, [WATERFALL_CAP + 4] * len(clipped), marker="^", color="black", s=22)
        if len(clipped) <= 12:
            for i in clipped:
                ax.text(
                    i,
                    WATERFALL_CAP + 9,
                    f"+{best['best_pct'][i]:.0f}%",
                    rotation=90,
                    ha="center",
                    va="bottom",
                    fontsize=6,
                )
        caption += (
            f" {len(clipped)} subject(s) rose more than {WATERFALL_CAP}%: their bars are cut at "
            f"+{WATERFALL_CAP}% and marked ▲ (with the value when there are few)."
        )
    ax.set_ylim(-105, top)
    ax.set_ylabel("best % change from baseline")
    ax.set_xlabel(f"subjects (n = {len(best)})")
    ax.set_title("Best change in the driving M-protein parameter")
    return _encode(fig, "waterfall plot of best percent change", caption)


def plot_spider(series: pd.DataFrame, caption: str) -> Figure:
    """Spider plot (``usubjid, day, pct, best_response``): one line per subject.

    Steps: 1. one line per subject coloured by best response; 2. a value above
    ``SPIDER_CAP`` drawn at the cap and marked with a triangle (the caption says how many).
    """
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ordered = series.sort_values(["usubjid", "day"]).assign(
        y=lambda f: f["pct"].clip(upper=SPIDER_CAP),
        color=lambda f: f["best_response"].astype(str).map(RESPONSE_COLORS).fillna("#969696"),
    )
    per_subject = ordered.groupby("usubjid", sort=False)
    lines = [sub[["day", "y"]].to_numpy(float) for _, sub in per_subject]
    ax.add_collection(
        LineCollection(
            lines, colors=per_subject["color"].first().tolist(), linewidths=1, alpha=0.85
        )
    )
    ax.scatter(ordered["day"], ordered["y"], s=4, c=ordered["color"].tolist(), alpha=0.85)
    over = ordered[ordered["pct"] > SPIDER_CAP]
    if not over.empty:
        ax.scatter(over["day"], over["y"], marker="^", color="black", s=24, zorder=3)
        caption += (
            f" {len(over)} value(s) from {over['usubjid'].nunique()} subject(s) above "
            f"+{SPIDER_CAP}% are drawn at +{SPIDER_CAP}% and marked ▲ (highest "
            f"+{over['pct'].max():.0f}%)."
        )
    ax.autoscale_view()
    present = [r for r in RESPONSE_ORDER if r in set(series["best_response"].astype(str))]
    if present:
        ax.legend(
            handles=[Line2D([], [], color=RESPONSE_COLORS[r], label=r) for r in present],
            title="best response",
            fontsize=7,
            ncol=4,
        )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.axhline(-50, color="#777777", linestyle="--", linewidth=0.8)
    ax.set_xlabel("days since first study dose")
    ax.set_ylabel("% change from baseline")
    ax.set_title("Driving M-protein parameter over time")
    ax.grid(alpha=0.3)
    return _encode(fig, "spider plot of percent change over time", caption)


def plot_km(curves: pd.DataFrame, title: str, xlabel: str, caption: str) -> Figure:
    """Kaplan-Meier step curves (``group, time, survival, ci_lower, ci_upper, censored``).

    Steps: per group, 1. the step curve from (0, 1); 2. its 95% CI band; 3. a '+' at each
    time where subjects were censored (``censored`` > 0), on the curve's level there.
    ``xlabel`` names the time origin (e.g. 'days since first study dose').
    """
    fig, ax = plt.subplots(figsize=(8, 4))
    for i, (group, sub) in enumerate(curves.groupby("group", sort=True)):
        sub = sub.sort_values("time")
        t = np.concatenate([[0.0], sub["time"].astype(float).to_numpy()])
        s = np.concatenate([[1.0], sub["survival"].astype(float).to_numpy()])
        color = group_color(group, i)
        ax.step(t, s, where="post", color=color, label=str(group), linewidth=1.6)
        if "ci_lower" in sub and sub["ci_lower"].notna().any():
            lo = np.concatenate([[1.0], sub["ci_lower"].astype(float).to_numpy()])
            hi = np.concatenate([[1.0], sub["ci_upper"].astype(float).to_numpy()])
            ax.fill_between(t, lo, hi, step="post", color=color, alpha=0.12)
        if "censored" in sub:
            cens = sub[sub["censored"].astype(float) > 0]
            ax.scatter(
                cens["time"].astype(float),
                cens["survival"].astype(float),
                marker="+",
                color=color,
                s=40,
                linewidths=1.2,
                zorder=3,
            )
    ax.plot([], [], marker="+", color="#555555", linestyle="none", label="censored")
    ax.set_ylim(0, 1.05)
    ax.set_xlim(left=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("probability event-free")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _encode(fig, f"Kaplan-Meier curve: {title}", caption)


def plot_ae_bars(counts: pd.DataFrame, caption: str) -> Figure:
    """Stacked horizontal bars: subjects per preferred term by worst grade (columns 1..5)."""
    counts = counts.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, max(2.5, 0.3 * len(counts) + 1)))
    left = np.zeros(len(counts))
    shades = {1: "#c6dbef", 2: "#6baed6", 3: "#fd8d3c", 4: "#d62728", 5: "#000000"}
    for grade, color in shades.items():
        if grade in counts.columns:
            vals = counts[grade].to_numpy(dtype=float)
            ax.barh(range(len(counts)), vals, left=left, color=color, label=f"grade {grade}")
            left += vals
    ax.set_yticks(range(len(counts)))
    ax.set_yticklabels(counts.index, fontsize=8)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("subjects (worst grade)")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Treatment-emergent adverse events")
    return _encode(fig, "adverse events by term and worst grade", caption)


def plot_roc(fpr: np.ndarray, tpr: np.ndarray, auc: float, caption: str) -> Figure:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, color="#1f77b4", linewidth=2, label=f"AUC = {auc:.2f}")
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title("ROC")
    ax.legend(loc="lower right")
    return _encode(fig, "ROC curve of the early-response model", caption)


def plot_calibration(
    pred: np.ndarray, observed: np.ndarray, counts: np.ndarray, caption: str
) -> Figure:
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", label="perfect")
    ax.plot(pred, observed, marker="o", color="#ff7f0e", label="model")
    for x, y, n in zip(pred, observed, counts, strict=False):
        ax.annotate(f"n={int(n)}", (x, y), fontsize=7, xytext=(4, -10), textcoords="offset points")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted probability")
    ax.set_ylabel("observed responder fraction")
    ax.set_title("Calibration")
    ax.legend(loc="upper left")
    return _encode(fig, "calibration plot of the early-response model", caption)


def image_figure(png: bytes, alt: str, caption: str) -> Figure:
    """Wrap an existing PNG (e.g. an MLflow artifact) as a Figure."""
    width = int.from_bytes(png[16:20], "big")
    height = int.from_bytes(png[20:24], "big")
    return Figure(
        "data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        width,
        height,
        alt,
        caption,
    )
