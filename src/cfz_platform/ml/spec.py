"""The model specification in ``models/early_response/spec.yaml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cfz_platform.config import project_root


@dataclass(frozen=True)
class ModelSpec:
    """What to train, on which features, validated how."""

    name: str
    registered_model: str
    features_table: str
    as_of_rule: str
    label: str
    numeric_features: list[str]
    categorical_features: list[str]
    comparison_feature_sets: dict[str, list[str]]
    primary: dict[str, Any]
    comparator: dict[str, Any]
    cv: dict[str, Any]
    decision_threshold: float
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def features(self) -> list[str]:
        return [*self.numeric_features, *self.categorical_features]


def spec_path() -> Path:
    return project_root() / "models" / "early_response" / "spec.yaml"


def load_spec(path: Path | None = None) -> ModelSpec:
    """Read the spec.

    Steps: 1. parse the YAML; 2. check the keys; 3. return a frozen ``ModelSpec``.
    """
    path = path or spec_path()
    data = yaml.safe_load(path.read_text())
    try:
        return ModelSpec(
            name=data["name"],
            registered_model=data["registered_model"],
            features_table=data["features_table"],
            as_of_rule=" ".join(str(data["as_of_rule"]).split()),
            label=data["label"],
            numeric_features=list(data["features"]["numeric"]),
            categorical_features=list(data["features"].get("categorical") or []),
            comparison_feature_sets={
                k: list(v) for k, v in data["comparison_feature_sets"].items()
            },
            primary=dict(data["primary"]),
            comparator=dict(data["comparator"]),
            cv=dict(data["cv"]),
            decision_threshold=float(data["decision_threshold"]),
            raw=data,
        )
    except KeyError as exc:
        raise ValueError(f"{path}: missing key {exc}") from exc
