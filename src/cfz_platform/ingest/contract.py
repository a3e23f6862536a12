"""The feed contract of ../shared/feeds.md for ingestion: file names, column names, bounds.

Everything the ingestion checks about structure is read from here, so the rules live in one
place. Steps a caller follows:
1. ``domain_for_file_name`` maps a landing file name to an SDTM domain (or says why not);
2. ``DOMAINS[domain]`` gives the contract of a registry domain (``contract/domains.py``;
   other SDTM domains have no required columns and no natural key checks);
3. ``COLUMN_NAME`` is the strict pattern every header name must match (always with
   ``fullmatch``: ``$`` would let a trailing newline through).
"""

from __future__ import annotations

import re

from cfz_platform.contract.domains import DOMAINS, Domain  # noqa: F401 (re-exported)

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


#: The contract domains (the SDTM domain registry, ``cfz_platform.contract.domains``).
DomainContract = Domain


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
