"""The in-memory record the simulator builds before it is assigned to a delivery.

Column orders of the feed domains come from the SDTM domain registry
(``cfz_platform.contract.domains``: required + "also used" columns, plus a few standard SDTM
extras such as SUBJID, RFICDTC, LBREFID, RSTEST).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from cfz_platform.contract.domains import REGISTRY

#: Column order of each feed the simulator writes: the registry's ``feed_columns``.
COLUMNS: dict[str, tuple[str, ...]] = {d.name: d.feed_columns for d in REGISTRY if d.feed_columns}
DOMAINS: tuple[str, ...] = tuple(COLUMNS)
COL_INDEX: dict[str, dict[str, int]] = {
    d: {c: i for i, c in enumerate(cols)} for d, cols in COLUMNS.items()
}

# mess eligibility tags
TAG_LB_NUM = 1  # numeric lab result: correction / unit mix
TAG_LB_NONCRIT = 2  # chemistry not used by truth: semantic errors allowed
TAG_PARTIAL_END = 4  # an end date that may be truncated to YYYY-MM
TAG_DM_FIRST = 8  # the first DM row of a subject


class Record:
    """One feed row plus when it becomes available and what mess may touch it."""

    __slots__ = ("domain", "avail", "row", "tag", "meta")

    def __init__(self, domain: str, avail: int, row: list[str], tag: int = 0, meta=None):
        self.domain = domain
        self.avail = avail
        self.row = row
        self.tag = tag
        self.meta = meta


@lru_cache(maxsize=65536)
def iso(ordinal: int) -> str:
    """ISO 8601 date text of a proleptic Gregorian ordinal."""
    return date.fromordinal(ordinal).isoformat()
