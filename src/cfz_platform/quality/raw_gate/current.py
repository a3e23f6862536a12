"""What the raw gate reads: the current-version rule, the extended-key hash, the batch table.

The rule is defined once, in ``cfz_platform.contract.current_version`` (staging renders the
same definition into ``dbt/macros/current_version.sql``): rows of a file that a re-sent file
of the same path and delivery superseded no longer count; each row is keyed by its
*extended* natural key (the business key as staging normalizes it, plus the qualifiers
present: --TPTNUM, --TPT, --POS, --LOC, --SPEC, --SEQ); the newest delivery, then the newest
file, holding a key wins, with every row it holds for that key.
"""

from __future__ import annotations

from cfz_platform.contract import current_version as rule
from cfz_platform.contract.domains import DOMAINS
from cfz_platform.contract.domains import Domain as DomainContract

#: Loaded files that a newer file of the same path and delivery supersedes (feeds.md).
SUPERSEDED_FILES = rule.superseded_files_sql()
#: Where a raw row came from: every failure sample lists them.
LINEAGE = ("_delivery_id", "_file", "_line")
#: Schema of the materialized batches (current records of the deliveries to check).
BATCH_SCHEMA = "quality_batch"


def natural_key_columns(contract: DomainContract) -> list[str]:
    """The business key of a domain, as raw (lower-case) column names."""
    return [c.lower() for c in contract.natural_key]


def key_qualifiers(domain: str) -> tuple[str, ...]:
    """The qualifier columns that extend a domain's natural key (none for DM: one per subject)."""
    return rule.key_qualifier_columns(DOMAINS[domain])


def extended_key_sql(domain: str, alias: str = "r", present: set[str] | None = None) -> str:
    """md5 of a raw row's extended natural key (``current_version.key_hash_sql``).

    Steps: the business key as staging normalizes it (the registry's ``key_sql``; nulls kept
    distinct from empty strings), then each non-empty qualifier as ``|name=value`` (trimmed,
    upper-case, ``1.0`` read as ``1``). A qualifier column no file has carried yet counts as
    empty: with ``present`` (the raw table's columns, known when the query runs) such a
    column is left out and the others are read directly; without it (the suites'
    fingerprint, which must not depend on a warehouse) every qualifier is read through
    ``to_jsonb`` of the row. Both give the same key; the direct form spares a JSON document
    per row (the 1,000-subject LB batch: 19 s -> 3 s).
    """
    parts = DOMAINS[domain].key_sql(alias)
    if present is not None:
        quals = [(q, f"{alias}.{q}") for q in key_qualifiers(domain) if q in present]
        return rule.key_hash_sql(parts, quals)
    quals = [(q, f"j.rj ->> '{q}'") for q in key_qualifiers(domain)]
    if not quals:
        return rule.key_hash_sql(parts, [])
    return f"(select {rule.key_hash_sql(parts, quals)} from (select to_jsonb({alias}) as rj) j)"


def superseded_files_sql(through_file_id: int | None = None) -> str:
    """Loaded files that a newer loaded file of the same path and delivery supersedes; with an
    upper watermark, only a re-send at or below it counts (a later one is not read yet)."""
    return rule.superseded_files_sql(through_file_id)


def current_query(
    domain: str,
    where: str = "",
    through_file_id: int | None = None,
    present: set[str] | None = None,
) -> str:
    """The current records of ``raw.<domain>`` (see the module docstring), ranked in SQL.

    Steps: drop rows of superseded files; key each row (``_natural_key``); keep the rows of
    the newest delivery, then newest file, holding each key (ties: all of them), in business
    key order (samples of failures read in that order). ``where`` restricts the raw rows read
    first (a condition on alias ``r``); ``through_file_id`` is an upper raw watermark;
    ``present``: the raw table's columns (``extended_key_sql``).
    """
    cond = f"not exists (select 1 from ({superseded_files_sql(through_file_id)}) s where s.file_id = r._file_id)"
    if where:
        cond += f" and ({where})"
    key = natural_key_columns(DOMAINS[domain])
    return (
        # partitioned by the business key columns, then the key hash: the rows come out of the
        # window sorted by the business key, so the final order only sorts each key's rows by
        # line (an incremental sort instead of a second full sort that spilled to disk; the
        # 1,000-subject LB batch: 5-6.6 s -> 2.6-3.8 s). A partition can only be finer than
        # the hash's alone (never coarser: the raw columns tell apart what the normalized key
        # merges, e.g. 'alb' and 'ALB'), so every row staging holds current is current here.
        f"select * from (select k.*, rank() over (partition by {', '.join('k.' + c for c in key)}, "
        f"k._natural_key order by {rule.version_order_sql('k')}) as _version_rank "
        f"from (select r.*, {extended_key_sql(domain, present=present)} as _natural_key "
        f"from raw.{domain} r where {cond}) k) c "
        f"where c._version_rank = 1 order by {', '.join('c.' + col for col in key)}, c._line"
    )


def batch_query(domain: str) -> str:
    """The asset query of a domain's suite: its materialized batch (see ``prepare_batches``)."""
    return f"select * from {BATCH_SCHEMA}.{domain}"
