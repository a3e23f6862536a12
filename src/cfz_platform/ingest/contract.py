"""The feed contract of ../shared/feeds.md as data: domains, required columns, natural keys.

Everything the ingestion checks about structure is read from here, so the rules live in one
place. Steps a caller follows:
1. ``domain_for_file_name`` maps a landing file name to an SDTM domain (or says why not);
2. ``DOMAINS[domain]`` gives the contract of the seven trial domains (other SDTM domains have
   no required columns and no natural key checks);
3. ``COLUMN_NAME`` is the strict pattern every header name must match (always with
   ``fullmatch``: ``$`` would let a trailing newline through).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

#: A header name we accept as a column (SAS/SDTM style); lineage names start with "_".
COLUMN_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
#: SDTM domain codes: two letters, SUPP-- qualifiers, RELREC; custom X*/Y*/Z* fit the first.
DOMAIN_NAME = re.compile(r"(?:[a-z]{2}|supp[a-z]{2}|relrec)")
#: Delivery folder names sort in delivery order.
DELIVERY_ID = re.compile(r"\d{8}T\d{6}")
#: File extensions we can read, longest first.
EXTENSIONS = (".csv.gz", ".csv", ".xpt")

LINEAGE_COLUMNS = ("_file_id", "_delivery_id", "_file", "_line", "_loaded_at", "_row_hash")
#: PostgreSQL's system column names: a table cannot have a user column of that name, so a
#: feed column named like one is stored under ``SYSTEM_COLUMN_PREFIX + name`` (``col_ctid``).
SYSTEM_COLUMNS = frozenset({"tableoid", "xmin", "cmin", "xmax", "cmax", "ctid"})
SYSTEM_COLUMN_PREFIX = "col_"
#: At most this many columns in one file: PostgreSQL allows 1,600 per table (lineage and
#: earlier extra columns included) and an SDTM domain has fewer than 100 variables.
MAX_FILE_COLUMNS = 400
#: At most this many columns in one raw table (lineage included). PostgreSQL stops at 1,600,
#: and the raw gate and staging add columns of their own to a raw row (``select r.*, ...``):
#: five valid files of 390 new columns each once widened raw.lb to 1,600 columns and every
#: later build failed. A file's new columns that would take the table past this bound are
#: kept in the row's ``EXTRA_COLUMNS`` jsonb (column name -> value) instead.
MAX_RAW_TABLE_COLUMNS = 500
EXTRA_COLUMNS = "_extra_columns"


@dataclass(frozen=True)
class DomainContract:
    """Required columns, natural key and other named columns of one contract domain."""

    name: str
    natural_key: tuple[str, ...]
    required: tuple[str, ...]
    also_used: tuple[str, ...] = ()
    #: required column -> columns accepted in its place (SDTM permits either).
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        """All columns feeds.md names for the domain, lower-case, in a stable order."""
        seen: dict[str, None] = {"studyid": None, "domain": None}
        for col in (*self.required, *self.natural_key, *self.also_used):
            seen.setdefault(col.lower(), None)
        for alts in self.alternatives.values():
            for col in alts:
                seen.setdefault(col.lower(), None)
        return tuple(seen)

    @property
    def key_checked(self) -> tuple[str, ...]:
        """Natural-key columns that must not be empty: those that are also required.

        RSLNKGRP (RS) and LBSPEC (LB) are part of the key but optional, and are empty on many
        valid records (ECOG has no link group; some lab feeds carry no specimen).
        """
        return tuple(c for c in self.natural_key if c in self.required)


DOMAINS: dict[str, DomainContract] = {
    c.name: c
    for c in (
        DomainContract(
            "dm",
            ("USUBJID",),
            ("USUBJID", "SITEID", "ARMCD", "RFSTDTC"),
            ("ARM", "AGE", "SEX", "RACE", "BRTHDTC", "DTHDTC", "DTHFL", "DOSELVL", "COHORT"),
        ),
        DomainContract(
            "lb",
            ("USUBJID", "LBTESTCD", "LBSPEC", "LBDTC"),
            ("USUBJID", "LBTESTCD", "LBORRES", "LBORRESU", "LBDTC"),
            (
                "LBTEST",
                "LBSPEC",
                "LBORNRLO",
                "LBORNRHI",
                "LBSTRESN",
                "LBSTRESU",
                "LBSTNRLO",
                "LBSTNRHI",
                "LBSTAT",
                "LBREFID",
                "VISIT",
                "LBCAT",
            ),
        ),
        DomainContract(
            "ex",
            ("USUBJID", "EXTRT", "EXSTDTC"),
            ("USUBJID", "EXTRT", "EXDOSE", "EXDOSU", "EXSTDTC"),
            ("EXENDTC", "EXROUTE", "EXDOSFRQ", "VISIT", "EPOCH", "EXADJ"),
        ),
        DomainContract(
            "cm",
            ("USUBJID", "CMTRT", "CMSTDTC"),
            ("USUBJID", "CMTRT", "CMSTDTC"),
            ("CMCAT", "CMGRPID", "CMDOSE", "CMDOSU", "CMENDTC"),
        ),
        DomainContract(
            "ae",
            ("USUBJID", "AESPID"),
            ("USUBJID", "AESPID", "AETERM", "AESTDTC", "AETOXGR"),
            ("AEDECOD", "AEBODSYS", "AESER", "AEREL", "AEENDTC", "AEOUT", "AEACN", "AEDLT"),
            # SDTM AE carries severity (AESEV) or a toxicity grade (AETOXGR): the public
            # CDISC pilot has only AESEV, and must load (conformance/README.md).
            alternatives={"AETOXGR": ("AESEV",)},
        ),
        DomainContract(
            "rs",
            ("USUBJID", "RSTESTCD", "RSDTC", "RSLNKGRP"),
            ("USUBJID", "RSTESTCD", "RSSTRESC", "RSDTC"),
            ("RSEVAL", "EPOCH", "RSLNKGRP", "VISIT"),
        ),
        DomainContract(
            "vs",
            ("USUBJID", "VSTESTCD", "VSDTC"),
            ("USUBJID", "VSTESTCD", "VSORRES", "VSORRESU", "VSDTC"),
            ("VISIT",),
        ),
    )
}


def split_file_name(name: str) -> tuple[str, str] | None:
    """Split ``lb.csv.gz`` into ``("lb", ".csv.gz")``; None when the extension is not readable."""
    lower = name.lower()
    for ext in EXTENSIONS:
        if lower.endswith(ext) and len(lower) > len(ext):
            return name[: -len(ext)], ext
    return None


def domain_for_file_name(name: str) -> tuple[str | None, str | None, str | None]:
    """Return ``(domain, ext, problem)`` for a landing file name.

    Steps: split off a readable extension (else problem "unsupported file type"); the stem
    must be a lower-case SDTM domain name (else problem "not an SDTM domain name").
    """
    parts = split_file_name(name)
    if parts is None:
        return None, None, f"file name {name!r} has no readable extension (.csv, .csv.gz, .xpt)"
    stem, ext = parts
    if not DOMAIN_NAME.fullmatch(stem):
        return None, ext, f"file name {name!r} is not an SDTM domain name (expected e.g. lb.csv)"
    return stem, ext.lower(), None
