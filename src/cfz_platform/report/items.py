"""The page's building blocks: a section and the tables it holds (figures are in figures.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup

from cfz_platform.report.labels import derive_display_frame

#: A cell holding only a date (or a date and time) or a count with its percentage: one line,
#: never broken at a hyphen or space ('2025-\n04-09', '23\n(51%)').
#: A slash between letters ('RECOVERED/RESOLVED'): a line may break after it.
_WORD_SLASH = re.compile(r"(?<=[A-Za-z])/(?=[A-Za-z])")
_NOWRAP_CELL = re.compile(r"<td>(\d{4}-\d{2}-\d{2}(?: \d{2}:\d{2})?|\d+ \(\d+%\))</td>")


def compute_n_pct(n: int, total: int) -> str:
    """'3 (25%)': a count and its percentage of ``total`` (the count alone when total is 0)."""
    return f"{n} ({100.0 * n / total:.0f}%)" if total else str(n)


def compute_median_range(values: pd.Series, digits: int = 1) -> str:
    """'2.5 (1.0–4.0)': median (min–max) of the non-missing values, '–' when there are none."""
    v = pd.to_numeric(values, errors="coerce").dropna()
    if v.empty:
        return "–"
    return f"{v.median():.{digits}f} ({v.min():.{digits}f}–{v.max():.{digits}f})"


def compute_population_columns(population: pd.DataFrame) -> dict[str, set[str]]:
    """The column headers of a by-group table and the subjects under each.

    Steps: 1. one column per group ('Group A (N=8)'; 'No group (N=2)' for subjects without
    one), groups in sorted order; 2. 'Total (N=12)' last; 3. when there is only one group
    (or none: a study without this trial's groups), the total alone. ``population`` has
    usubjid, group.
    """
    out: dict[str, set[str]] = {}
    for group, rows in population.groupby("group", sort=True):
        name = "No group" if group == "no group" else f"Group {group}"
        out[f"{name} (N={len(rows)})"] = set(rows["usubjid"])
    total = {f"Total (N={len(population)})": set(population["usubjid"])}
    return {**out, **total} if len(out) > 1 else total


@dataclass
class Table:
    """A table item: a frame rendered as an escaped HTML table, with a caption.

    Headers and cells go through ``labels.derive_display_frame`` (labels, not column names;
    Yes/No, not True/False; '–' for missing; at most three decimals); a cell holding only a
    date or an 'n (%)' gets class ``nowrap`` (kept on one line), and a line may break after a
    slash between words ('RECOVERED/RESOLVED' no longer pushes a listing past the page)."""

    frame: pd.DataFrame
    caption: str
    css: str = "data"

    def html(self) -> Markup:
        body = derive_display_frame(self.frame).to_html(
            index=False, escape=True, border=0, classes=self.css, na_rep="–"
        )
        body = _NOWRAP_CELL.sub(r'<td class="nowrap">\1</td>', body)
        return Markup(_WORD_SLASH.sub("/<wbr>", body))


@dataclass
class Section:
    """One report section: items are Markup, Table or figures.Figure, in display order."""

    id: str
    title: str
    source: str
    items: list = field(default_factory=list)
    unavailable: str | None = None
