"""ADaM metadata from the dbt project: dataset and variable labels, types and derivations.

The single source is ``dbt/models/adam/_adam__models.yml`` (the same text dbt persists as
table and column comments and shows in its docs): per model a description and
``meta.adam_dataset`` / ``meta.label``; per column ``data_type``, ``meta.label`` (the ADaM
label, at most 40 characters) and ``meta.derivation``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

#: The ADaM datasets in export order (dbt model names).
ADAM_DATASETS = ("adsl", "adae", "adlb", "adex", "adrs", "adtte")
#: XPORT v5 limits.
MAX_NAME = 8
MAX_LABEL = 40
#: PostgreSQL types exported as SAS numerics; dates get a DATE9. format.
NUMERIC_TYPES = {
    "numeric",
    "integer",
    "bigint",
    "smallint",
    "double precision",
    "real",
    "float8",
    "int",
}
DATE_TYPES = {"date"}


@dataclass(frozen=True)
class VariableMeta:
    """One ADaM variable: name (lower case, as in the warehouse), type, label, derivation."""

    name: str
    data_type: str
    label: str
    derivation: str

    @property
    def sas_type(self) -> str:
        return "Num" if self.data_type in NUMERIC_TYPES | DATE_TYPES else "Char"

    @property
    def sas_format(self) -> str | None:
        return "DATE9." if self.data_type in DATE_TYPES else None


@dataclass(frozen=True)
class DatasetMeta:
    """One ADaM dataset: name, label, description and its variables in order."""

    name: str
    label: str
    description: str
    variables: tuple[VariableMeta, ...] = field(default_factory=tuple)


def adam_yaml_path() -> Path:
    from cfz_platform.config import dbt_project_dir

    return dbt_project_dir() / "models" / "adam" / "_adam__models.yml"


def load_adam_metadata(path: Path | None = None) -> dict[str, DatasetMeta]:
    """Read the ADaM models' YAML into ``{model name: DatasetMeta}`` (ADaM datasets only).

    Steps: parse the YAML; keep the models named in ``ADAM_DATASETS``; take each column's
    ``meta.label`` (else the description's first sentence) and ``meta.derivation``; check the
    XPORT v5 limits (names <= 8, labels <= 40) so a bad label fails here, not in SAS.
    """
    doc = yaml.safe_load((path or adam_yaml_path()).read_text())
    out: dict[str, DatasetMeta] = {}
    for model in doc.get("models", []):
        if model["name"] not in ADAM_DATASETS:
            continue
        meta = model.get("meta") or {}
        variables = []
        for col in model.get("columns", []):
            cmeta = col.get("meta") or {}
            label = cmeta.get("label") or col.get("description", "").split(". ")[0]
            variables.append(
                VariableMeta(
                    col["name"],
                    col.get("data_type", "text"),
                    label,
                    cmeta.get("derivation") or col.get("description", ""),
                )
            )
        ds = DatasetMeta(
            model["name"],
            meta.get("label", model["name"].upper()),
            model.get("description", ""),
            tuple(variables),
        )
        check_xport_limits(ds)
        out[ds.name] = ds
    return out


def check_xport_limits(ds: DatasetMeta) -> None:
    """Raise ``ValueError`` naming the first name or label too long for XPORT v5."""
    for item, label in ((ds.name, ds.label), *((v.name, v.label) for v in ds.variables)):
        if len(item) > MAX_NAME:
            raise ValueError(
                f"{ds.name}: name {item!r} is longer than {MAX_NAME} characters (XPORT v5)"
            )
        if len(label) > MAX_LABEL:
            raise ValueError(
                f"{ds.name}.{item}: label {label!r} is longer than {MAX_LABEL} characters (XPORT v5)"
            )
