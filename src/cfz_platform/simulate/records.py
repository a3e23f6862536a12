"""The in-memory record the simulator builds before it is assigned to a delivery.

Column orders of the seven feed domains (feeds.md: required + "also used" columns, plus a
few standard SDTM extras such as SUBJID, RFICDTC, LBREFID, RSTEST).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

COLUMNS: dict[str, tuple[str, ...]] = {
    "dm": (
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "SUBJID",
        "SITEID",
        "RFICDTC",
        "RFSTDTC",
        "ARMCD",
        "ARM",
        "AGE",
        "AGEU",
        "SEX",
        "RACE",
        "BRTHDTC",
        "DTHDTC",
        "DTHFL",
        "DOSELVL",
        "COHORT",
    ),
    "lb": (
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "LBREFID",
        "LBTESTCD",
        "LBTEST",
        "LBCAT",
        "LBSPEC",
        "LBORRES",
        "LBORRESU",
        "LBORNRLO",
        "LBORNRHI",
        "LBSTRESN",
        "LBSTRESU",
        "LBSTNRLO",
        "LBSTNRHI",
        "LBSTAT",
        "VISIT",
        "LBDTC",
    ),
    "ex": (
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "EXTRT",
        "EXDOSE",
        "EXDOSU",
        "EXDOSFRQ",
        "EXROUTE",
        "EXSTDTC",
        "EXENDTC",
        "VISIT",
        "EPOCH",
        "EXADJ",
    ),
    "cm": (
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "CMTRT",
        "CMCAT",
        "CMGRPID",
        "CMDOSE",
        "CMDOSU",
        "CMSTDTC",
        "CMENDTC",
    ),
    "ae": (
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "AESPID",
        "AETERM",
        "AEDECOD",
        "AEBODSYS",
        "AETOXGR",
        "AESER",
        "AEREL",
        "AEACN",
        "AEOUT",
        "AEDLT",
        "AESTDTC",
        "AEENDTC",
    ),
    "rs": (
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "RSTESTCD",
        "RSTEST",
        "RSCAT",
        "RSORRES",
        "RSSTRESC",
        "RSEVAL",
        "EPOCH",
        "VISIT",
        "RSLNKGRP",
        "RSDTC",
        "DTHPDFL",
        "NACTDT",
    ),
    "vs": (
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "VSTESTCD",
        "VSTEST",
        "VSORRES",
        "VSORRESU",
        "VISIT",
        "VSDTC",
    ),
}
DOMAINS: tuple[str, ...] = ("dm", "lb", "ex", "cm", "ae", "rs", "vs")
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
