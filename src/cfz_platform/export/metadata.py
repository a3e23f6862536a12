"""ADaM metadata from the dbt project: dataset and variable labels, types and derivations.

The single source is ``dbt/models/adam/_adam__models.yml`` (the same text dbt persists as
table and column comments and shows in its docs): per model a description and
``meta.adam_dataset`` / ``meta.label`` and, for Define-XML, ``meta.adam_class`` (ADaM class),
``meta.adam_subclass`` (optional), ``meta.structure`` and ``meta.keys`` (key variables in
order); per column ``data_type``, ``meta.label`` (the ADaM label, at most 40 characters),
``meta.origin`` (Collected, Derived, Assigned or Predecessor), ``meta.derivation`` (the method of
a derived variable, the predecessor of a copied one), and for a coded variable ``meta.codelist``
(its codelist's name; the terms are the values the export finds) with ``meta.decode`` (the
column that decodes it, e.g. PARAM for PARAMCD).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

#: The ADaM datasets in export order (dbt model names).
ADAM_DATASETS = ("adsl", "adae", "adlb", "adex", "adrs", "adtte", "admh", "advs", "adcm")
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
#: Define-XML 2.1 origin types an ADaM variable may have.
ORIGINS = ("Collected", "Derived", "Assigned", "Predecessor")


@dataclass(frozen=True)
class VariableMeta:
    """One ADaM variable: name (lower case, as in the warehouse), type, label, derivation,
    origin and (coded variables) codelist and decoding column."""

    name: str
    data_type: str
    label: str
    derivation: str
    origin: str = "Derived"
    codelist: str | None = None
    decode: str | None = None

    @property
    def sas_type(self) -> str:
        return "Num" if self.data_type in NUMERIC_TYPES | DATE_TYPES else "Char"

    @property
    def sas_format(self) -> str | None:
        return "DATE9." if self.data_type in DATE_TYPES else None


@dataclass(frozen=True)
class DatasetMeta:
    """One ADaM dataset: name, label, description, its variables in order and its Define-XML
    class, subclass, structure and key variables."""

    name: str
    label: str
    description: str
    variables: tuple[VariableMeta, ...] = field(default_factory=tuple)
    adam_class: str = "ADAM OTHER"
    adam_subclass: str | None = None
    structure: str = ""
    keys: tuple[str, ...] = ()


def adam_yaml_path() -> Path:
    from cfz_platform.config import dbt_project_dir

    return dbt_project_dir() / "models" / "adam" / "_adam__models.yml"


def load_adam_metadata(path: Path | None = None) -> dict[str, DatasetMeta]:
    """Read the ADaM models' YAML into ``{model name: DatasetMeta}`` (ADaM datasets only).

    Steps: parse the YAML; keep the models named in ``ADAM_DATASETS``; take each column's
    ``meta.label`` (else the description's first sentence), ``meta.derivation``,
    ``meta.origin``, ``meta.codelist`` and ``meta.decode``, and the model's class, structure
    and keys; check the XPORT v5 limits (names <= 8, labels <= 40), the origins and the keys
    so a bad entry fails here, not in SAS or in a reviewer's Define-XML check.
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
                    cmeta.get("origin", "Derived"),
                    cmeta.get("codelist"),
                    cmeta.get("decode"),
                )
            )
        ds = DatasetMeta(
            model["name"],
            meta.get("label", model["name"].upper()),
            model.get("description", ""),
            tuple(variables),
            meta.get("adam_class", "ADAM OTHER"),
            meta.get("adam_subclass"),
            meta.get("structure", ""),
            tuple(meta.get("keys", ())),
        )
        check_xport_limits(ds)
        check_define_metadata(ds)
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


def check_define_metadata(ds: DatasetMeta) -> None:
    """Raise ``ValueError`` naming the first origin, key or decoding column Define-XML cannot use."""
    names = {v.name for v in ds.variables}
    for v in ds.variables:
        if v.origin not in ORIGINS:
            raise ValueError(f"{ds.name}.{v.name}: origin {v.origin!r} is not one of {ORIGINS}")
        if v.decode and v.decode not in names:
            raise ValueError(
                f"{ds.name}.{v.name}: decode column {v.decode!r} is not in the dataset"
            )
    for key in ds.keys:
        if key not in names:
            raise ValueError(f"{ds.name}: key variable {key!r} is not in the dataset")
