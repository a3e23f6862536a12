"""The current-version rule, defined once (docs/architecture.md "Which version of a record counts").

Staging (dbt) and the raw gate (``quality/raw_gate/current.py``) both decide which raw rows
are current with this rule. Its pieces are held here as data and SQL templates; the raw gate
builds its SQL from them with the ``*_sql`` functions, and ``contract/dbt_macros.py`` renders
the same templates into the generated ``dbt/macros/current_version.sql`` (``render_macros``).

The rule:
1. **superseded files** (``SUPERSEDED_FILES``): a loaded file of the same delivery and path
   as a newer loaded file (a higher file id) no longer counts; with an upper raw watermark
   only a re-send at or below it supersedes (a later one is not read yet);
2. **qualifier normalisation** (``NORM_QUALIFIER``): trimmed, upper-case, an integral number
   without its ``.0`` (``1.0`` -> ``1``), empty -> null;
3. **extended-key hash** (``KEY_HASH``): md5 of the business-key parts joined by ``|`` (a
   null part as ``'<null>'``, kept distinct from an empty one), then ``|name=value`` per
   non-empty qualifier (an empty or absent qualifier adds nothing);
4. **version order** (``VERSION_ORDER``): the newest delivery, then the newest file (file ids
   grow with load order; a row without one last).
"""

from __future__ import annotations

from collections.abc import Sequence

from cfz_platform.contract.domains import KEY_QUALIFIER_SUFFIXES
from cfz_platform.contract.domains import Domain as DomainContract

#: Step 1: ``{files}`` the ingest ledger (``audit.ingest_files``), ``{upper_bound}`` empty or
#: ``UPPER_BOUND`` (the loaded file ``old`` is superseded by the loaded file ``newer``).
SUPERSEDED_FILES = (
    "select old.file_id from {files} old where old.status = 'loaded' and exists ("
    "select 1 from {files} newer where newer.status = 'loaded' "
    "and newer.delivery_id = old.delivery_id and newer.rel_path = old.rel_path "
    "and newer.file_id > old.file_id{upper_bound})"
)
#: Step 1, with an upper raw watermark ``{upper}``: a re-send above it supersedes nothing yet.
UPPER_BOUND = " and newer.file_id <= {upper}"
#: The ingest ledger, for the raw gate (dbt reads it as ``source('audit', 'ingest_files')``).
INGEST_FILES = "audit.ingest_files"

#: Step 2: a qualifier value ``{col}`` for the key.
NORM_QUALIFIER = "nullif(regexp_replace(upper(btrim({col})), '^([0-9]+)\\.0+$', '\\1'), '')"

#: Step 3: ``{parts}`` the ``KEY_PART``s joined by ``KEY_PART_SEPARATOR``, ``{qualifiers}``
#: the ``KEY_QUALIFIER``s concatenated.
KEY_HASH = "md5(concat_ws('|', {parts}){qualifiers})"
KEY_PART = "coalesce({part}, '<null>')"
KEY_PART_SEPARATOR = ", "
#: ``{name}`` the qualifier column, ``{value}`` its ``NORM_QUALIFIER``.
KEY_QUALIFIER = " || coalesce('|{name}=' || {value}, '')"

#: Step 4: the terms of the version order, newest first (``{p}``: the relation's prefix).
VERSION_ORDER = ("{p}_delivery_id desc", "{p}_file_id desc nulls last")


def superseded_files_sql(through_file_id: int | None = None, files: str = INGEST_FILES) -> str:
    """Step 1 as SQL: the ids of the loaded files a newer loaded file supersedes.

    Steps: fill ``SUPERSEDED_FILES`` with the ledger; add ``UPPER_BOUND`` when an upper
    watermark is given.
    """
    bound = "" if through_file_id is None else UPPER_BOUND.format(upper=int(through_file_id))
    return SUPERSEDED_FILES.format(files=files, upper_bound=bound)


def norm_qualifier_sql(col: str) -> str:
    """Step 2 as SQL: the normalised qualifier value of the expression ``col``."""
    return NORM_QUALIFIER.format(col=col)


def key_hash_sql(parts: Sequence[str], qualifiers: Sequence[tuple[str, str]]) -> str:
    """Step 3 as SQL: the md5 of an extended natural key.

    Steps: wrap each business-key expression of ``parts`` in ``KEY_PART``; for each
    ``(name, expression)`` of ``qualifiers`` add ``KEY_QUALIFIER`` over its normalised value;
    fill ``KEY_HASH``.
    """
    return KEY_HASH.format(
        parts=KEY_PART_SEPARATOR.join(KEY_PART.format(part=p) for p in parts),
        qualifiers="".join(
            KEY_QUALIFIER.format(name=name, value=norm_qualifier_sql(value))
            for name, value in qualifiers
        ),
    )


def version_order_sql(alias: str | None = None) -> str:
    """Step 4 as SQL: the ``order by`` terms of a version ranking, newest first."""
    prefix = f"{alias}." if alias else ""
    return ", ".join(term.format(p=prefix) for term in VERSION_ORDER)


def key_qualifier_columns(contract: DomainContract) -> tuple[str, ...]:
    """The qualifier columns that may extend a domain's key, in ``KEY_QUALIFIER_SUFFIXES``
    order: none for DM (one record per subject), none already in the business key or in the
    domain's ``exclude_qualifiers`` (LBSPEC)."""
    if contract.name == "dm":
        return ()
    skip = {c.lower() for c in (*contract.natural_key, *contract.exclude_qualifiers)}
    return tuple(
        f"{contract.name}{s}" for s in KEY_QUALIFIER_SUFFIXES if f"{contract.name}{s}" not in skip
    )
