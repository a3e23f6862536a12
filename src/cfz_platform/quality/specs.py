"""Declarative description of the gates: assets, suites and checks, independent of GX.

A gate is a list of ``SuiteSpec``: one GX suite per data asset (a query over a raw domain or a
mart table). Each ``Check`` names a GX expectation class and its arguments, plus the
platform's own ``severity`` (``blocking`` stops the publish, ``warning`` is reported). The GX
context builder (``context.py``) turns these into suites on disk; the runner
(``runner.py``) uses them to explain failures (listing SQL, sample rows).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["blocking", "warning"]
BLOCKING: Severity = "blocking"
WARNING: Severity = "warning"

#: Namespace of the deterministic ids given to suites and expectations (stable rebuilds).
ID_NAMESPACE = uuid.UUID("6f1c2a0e-9d3b-4c51-8e77-3b1f0c9a7d21")


@dataclass(frozen=True)
class AssetSpec:
    """A GX query asset: ``query`` runs in PostgreSQL; ``table`` must exist for it to run."""

    name: str
    query: str
    table: str
    key_columns: tuple[str, ...] = ("usubjid",)


@dataclass(frozen=True)
class Check:
    """One expectation: GX class name, its kwargs, severity and a human description."""

    key: str
    expectation: str
    kwargs: dict[str, Any]
    severity: Severity
    description: str

    @property
    def column(self) -> str | None:
        col = self.kwargs.get("column")
        if col is None and "column_list" in self.kwargs:
            col = ",".join(self.kwargs["column_list"])
        return col


@dataclass(frozen=True)
class SuiteSpec:
    """The suite validating one asset within a gate (``raw`` or ``mart``)."""

    gate: str
    asset: AssetSpec
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return f"{self.gate}_gate.{self.asset.name}"

    @property
    def suite_id(self) -> str:
        return str(uuid.uuid5(ID_NAMESPACE, self.name))

    def expectation_id(self, check: Check) -> str:
        return str(uuid.uuid5(ID_NAMESPACE, f"{self.name}/{check.key}"))

    def check_by_key(self, key: str) -> Check | None:
        return next((c for c in self.checks if c.key == key), None)


def sql_list(values: tuple[str, ...] | list[str]) -> str:
    """Render reference values (never feed content) as a SQL literal list: ``'a', 'b'``."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


_JOIN = re.compile(r"\bjoin\b", re.IGNORECASE)
_BATCH_ALIAS = re.compile(r"\{batch\} ([a-z_]+)\b")


def bind_batch(query: str) -> str:
    """Make ``{batch} <alias>`` valid whichever way GX substitutes ``{batch}``.

    GX 1.x substitutes a query asset's batch as ``(query)`` when the custom SQL contains a
    JOIN (the author aliases it) and as ``(query) AS subselect`` otherwise. Queries here are
    written ``{batch} b``; without a JOIN that becomes ``(select * from {batch}) b``.
    """
    if _JOIN.search(query):
        return query
    return _BATCH_ALIAS.sub(r"(select * from {batch}) \1", query)


def substitute_batch(query: str, asset_query: str) -> str:
    """The runnable SQL of a custom-SQL check over ``asset_query`` (as GX would run it)."""
    batch = f"({asset_query})" if _JOIN.search(query) else f"({asset_query}) AS subselect"
    return query.replace("{batch}", batch)


#: The custom-SQL check's expectation (``quality/expectations.py``: GX's
#: ``UnexpectedRowsExpectation`` with its query run once).
CUSTOM_SQL_EXPECTATION = "UnexpectedRowCountExpectation"


def rows_check(key: str, query: str, severity: Severity, description: str) -> Check:
    """A custom-SQL check (``UnexpectedRowCountExpectation``, quality/expectations.py): every
    row it returns is a failure."""
    return Check(
        key,
        CUSTOM_SQL_EXPECTATION,
        {"unexpected_rows_query": bind_batch(query)},
        severity,
        description,
    )
