"""The raw gate's key rules: keys repeated within a file, and subjects unknown to DM."""

from __future__ import annotations

from cfz_platform.contract.domains import Domain as DomainContract
from cfz_platform.quality.raw_gate.current import LINEAGE, key_qualifiers, natural_key_columns
from cfz_platform.quality.specs import BLOCKING, WARNING, Check, rows_check


def duplicate_check(domain: str, contract: DomainContract) -> Check:
    """Current records identical in their extended natural key within the file that holds them.

    Steps: group the batch (only the newest file holding each key, so a re-sent file never
    ties with the one it supersedes) by extended key and file; keep groups of two or more
    rows; list their lines. Real SDTM repeats keys (feeds.md): a warning that lists them; staging keeps each
    row. DM is one record per subject: two DM rows of a subject in one file conflict, and
    staging could keep only one, so there it blocks.
    """
    nk = natural_key_columns(contract)
    quals = key_qualifiers(domain)
    # the groups of two or more rows are found first (a hash aggregate), and only their rows
    # are sorted for the line list (the 1,000-subject LB batch: 1.3 s -> 0.9-1.0 s)
    query = (
        f"select {', '.join('min(b.' + c + ') as ' + c for c in nk)}, min(b._delivery_id) as _delivery_id, "
        "count(*) as n_rows, string_agg(b._file || ':' || b._line, ', ' order by b._line) as lines "
        "from {batch} b where (b._natural_key, b._delivery_id, b._file_id) in "
        "(select d._natural_key, d._delivery_id, d._file_id from {batch} d group by 1, 2, 3 having count(*) > 1) "
        "group by b._natural_key, b._delivery_id, b._file_id"
    )
    if domain == "dm":
        return rows_check(
            "natural_key_unique_in_delivery",
            query,
            BLOCKING,
            "no subject (USUBJID) twice in the DM file that supplies its record",
        )
    key = ", ".join(c.upper() for c in (*nk, *quals))
    return rows_check(
        "natural_key_unique_in_delivery",
        query,
        WARNING,
        f"no two rows identical in their extended natural key ({key}, the qualifiers "
        "present) in one file; such rows are kept, each one",
    )


def orphan_check(domain: str) -> Check:
    query = (
        f"select b.usubjid, {', '.join('b.' + c for c in LINEAGE)} from {{batch}} b "
        f"where b.usubjid is not null and not exists "
        f"(select 1 from raw.dm m where m.usubjid = b.usubjid)"
    )
    return rows_check(
        "subject_known_to_dm",
        query,
        WARNING,
        "every subject is named in DM (orphans wait in staging until DM catches up)",
    )
