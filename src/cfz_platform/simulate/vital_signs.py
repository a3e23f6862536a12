"""Truth of body-surface area per carfilzomib cycle, from the rows a subject's course sent.

The truth is read from the subject's own records before the feed mess touches them and draws
from no random generator, so writing it changes no feed of a seeded trial.

Steps of ``build_bsa_truth``:
1. each cycle's day 1 is the date of the carfilzomib EX record labelled ``C<n>D1`` (given or
   held: the visit took place);
2. the weight is the latest WEIGHT (kg) the VS rows carry on or before that day; the height
   the subject's HEIGHT (cm, measured at screening);
3. BSA (Mosteller, domain.md 5) = sqrt(height cm x weight kg / 3600); a cycle without a
   weight before its day 1 has none.
"""

from __future__ import annotations

import math
import re

from cfz_platform.simulate.records import Record

BSA_TRUTH_COLUMNS = ("usubjid", "cycle", "cycle_start_date", "weight_kg", "height_cm", "bsa_m2")
_DAY1 = re.compile(r"^C(\d+)D1$")


def compute_bsa_mosteller(height_cm: float, weight_kg: float) -> float:
    """Body-surface area in m2: sqrt(height cm x weight kg / 3600)."""
    return math.sqrt(height_cm * weight_kg / 3600.0)


def build_bsa_truth(usubjid: str, records: list[Record]) -> list[dict]:
    """One truth row per carfilzomib cycle of the subject (module steps)."""
    day1: dict[int, str] = {}
    weights: list[tuple[str, float]] = []
    height: float | None = None
    for r in records:
        if r.domain == "ex" and r.row[3] == "CARFILZOMIB":
            m = _DAY1.match(r.row[10])
            if m:
                day1.setdefault(int(m.group(1)), r.row[8])
        elif r.domain == "vs" and r.row[3] == "WEIGHT":
            weights.append((r.row[8], float(r.row[5])))
        elif r.domain == "vs" and r.row[3] == "HEIGHT":
            height = float(r.row[5])
    rows = []
    for cycle, start in sorted(day1.items()):
        before = [(d, w) for d, w in weights if d <= start]
        weight = max(before)[1] if before else None
        bsa = compute_bsa_mosteller(height, weight) if weight and height else None
        rows.append(
            {
                "usubjid": usubjid,
                "cycle": cycle,
                "cycle_start_date": start,
                "weight_kg": weight,
                "height_cm": height,
                "bsa_m2": round(bsa, 6) if bsa is not None else None,
            }
        )
    return rows
