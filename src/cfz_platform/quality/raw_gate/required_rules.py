"""The raw gate's required-column rules: present, and filled in (module docstring, 1).

Natural-key columns non-null (blocking); result columns non-null (warning for any gap,
blocking for a flood); other required columns non-null (warning); numeric lab results carry
a unit (warning).
"""

from __future__ import annotations

from cfz_platform.contract.domains import Domain as DomainContract
from cfz_platform.contract.domains import compute_result_columns
from cfz_platform.quality import reference as ref
from cfz_platform.quality.raw_gate.current import LINEAGE
from cfz_platform.quality.specs import BLOCKING, WARNING, Check, Severity, rows_check, sql_list

#: Required columns holding the result itself: a flood of empty results blocks the build.
RESULT_COLUMNS = compute_result_columns()


def required_checks(domain: str, contract: DomainContract) -> list[Check]:
    """The required-column rules of one domain.

    Steps: the required columns (but those with alternatives) are present (blocking); then
    per required column: with alternatives, it or one of them is filled in (warning); a
    natural-key column is never empty (blocking) unless real SDTM may leave it empty
    (warning); LBORRESU is filled in for numeric results (warning); another non-result
    column is filled in (warning: staging decides); a result column is filled in (warning),
    and empty in at most ``FLOOD_THRESHOLD`` of rows (blocking).
    """
    # natural-key columns that may be empty (CMSTDTC) are checked like any required column
    nk = {c.lower() for c in contract.key_checked}
    required = [c.lower() for c in contract.required if c not in contract.alternatives]
    checks = [
        Check(
            "required_columns_present",
            "ExpectTableColumnsToMatchSet",
            {"column_set": required, "exact_match": False},
            BLOCKING,
            f"required columns {', '.join(c.upper() for c in required)} are present in raw.{domain}",
        )
    ]
    for col in (c.lower() for c in contract.required):
        if col in contract.alternatives or col.upper() in contract.alternatives:
            alts = [a.lower() for a in contract.alternatives.get(col.upper(), ())]
            cond = " and ".join(f"b.{c} is null" for c in (col, *alts))
            checks.append(
                rows_check(
                    f"{col}_or_alternative_not_null",
                    f"select b.usubjid, {', '.join('b.' + c for c in LINEAGE)} "
                    f"from {{batch}} b where {cond}",
                    WARNING,
                    f"{col.upper()} (or {', '.join(a.upper() for a in alts)}) is filled in",
                )
            )
        elif col in nk:
            checks.append(
                _not_null(col, BLOCKING, f"natural-key column {col.upper()} is never empty")
            )
        elif col.upper() in contract.may_be_empty:
            checks.append(
                _not_null(
                    col,
                    WARNING,
                    f"natural-key column {col.upper()} is filled in (real SDTM may leave it "
                    "empty: such records are told apart by their qualifiers, feeds.md)",
                )
            )
        elif col == "lborresu":
            checks.append(
                rows_check(
                    "lborresu_not_null_numeric",
                    _numeric_lab_without_unit_query(),
                    WARNING,
                    "numeric lab results carry a unit (text results such as immunofixation need none)",
                )
            )
        elif col not in RESULT_COLUMNS:
            checks.append(
                _not_null(
                    col,
                    WARNING,
                    f"required column {col.upper()} is filled in (e.g. screen "
                    "failures have no RFSTDTC; staging decides)",
                )
            )
        else:
            checks.append(_not_null(col, WARNING, f"required column {col.upper()} is filled in"))
            checks.append(
                Check(
                    f"{col}_not_null_flood",
                    "ExpectColumnValuesToNotBeNull",
                    {"column": col, "mostly": 1 - ref.FLOOD_THRESHOLD},
                    BLOCKING,
                    f"required column {col.upper()} is empty in at most "
                    f"{ref.FLOOD_THRESHOLD:.0%} of current records",
                )
            )
    return checks


def _not_null(col: str, severity: Severity, description: str) -> Check:
    """``<col>_not_null``: every current record has ``col`` filled in."""
    return Check(
        f"{col}_not_null", "ExpectColumnValuesToNotBeNull", {"column": col}, severity, description
    )


def _numeric_lab_without_unit_query() -> str:
    text_tests = sorted({a[0] for a in ref.lab_aliases() if a[2] in ref.text_result_tests()})
    return (
        f"select b.usubjid, b.lbtestcd, b.lbspec, b.lbdtc, b.lborres, {', '.join('b.' + c for c in LINEAGE)} "
        f"from {{batch}} b where b.lborresu is null and b.lborres is not null "
        f"and upper(b.lbtestcd) not in ({sql_list(text_tests)})"
    )
