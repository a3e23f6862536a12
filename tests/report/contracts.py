"""The column contracts of the tables the report reads, from the dbt YAML (name -> columns).

Marts models (enforced contracts) and the endpoint tables written by ``cfz_platform.stats``
(documented as the ``efficacy_stats`` source) under dbt/models/marts, and ``audit.data_issues``
under dbt/models/audit. A column without ``data_type`` in the YAML is text.
"""

from __future__ import annotations

from functools import cache

import yaml

from tests.conftest import ROOT

MODEL_DIRS = ("marts", "audit")


@cache
def contract_columns() -> dict[str, list[tuple[str, str]]]:
    """{table name: [(column, data_type), ...]} in the YAML's order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for folder in MODEL_DIRS:
        for path in sorted((ROOT / "dbt" / "models" / folder).glob("**/_*__models.yml")):
            doc = yaml.safe_load(path.read_text()) or {}
            tables = list(doc.get("models") or [])
            tables += [t for source in doc.get("sources") or [] for t in source.get("tables") or []]
            for table in tables:
                out[table["name"]] = [
                    (c["name"], c.get("data_type") or "text") for c in table.get("columns") or []
                ]
    return out
