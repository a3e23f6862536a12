"""Compare an ADaM dataset of the warehouse with a sponsor's reference XPT, variable by variable.

Flags are compared as 'Y' or empty: the platform writes 'Y' or null (issue 16), the CDISC
pilot writes 'Y'/'N' or blank, so 'N' and blank both mean "not flagged".
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Agreement:
    """One variable: records compared, records equal, a few differing examples."""

    ours: str
    ref: str
    compared: int
    equal: int
    examples: tuple

    @property
    def rate(self) -> float:
        return self.equal / self.compared if self.compared else float("nan")


def compute_norm(value: object, flag: bool = False) -> object:
    """A comparable value: None for null/blank (and 'N' for flags), ISO text for dates, float for numbers."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        text = value.strip()
        if not text or (flag and text == "N"):
            return None
        return text
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def compute_agreement(merged: pd.DataFrame, ours: str, ref: str, keys: list[str]) -> Agreement:
    """Agreement of column ``ours`` (platform) with ``ref`` (reference) over the merged records."""
    flag = ref.endswith("FL")
    equal, examples = 0, []
    for _, row in merged.iterrows():
        a, b = compute_norm(row[ours], flag), compute_norm(row[ref], flag)
        if a == b:
            equal += 1
        elif len(examples) < 3:
            examples.append((*(row[k] for k in keys), b, a))
    return Agreement(ours, ref, len(merged), equal, tuple(examples))


def format_table(title: str, rows: list[Agreement]) -> str:
    """The per-variable table printed by the tests (and pasted in the closing note)."""
    lines = [
        title,
        f"{'variable':10} {'compared':>8} {'equal':>6} {'agree':>7}  first differences (key..., reference, ours)",
    ]
    for r in rows:
        lines.append(
            f"{r.ref:10} {r.compared:8d} {r.equal:6d} {100 * r.rate:6.1f}%  {list(r.examples)[:2]}"
        )
    return "\n".join(lines)
