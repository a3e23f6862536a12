"""Where a training run goes: the production registry, or a development experiment.

Only a model trained on the published feature mart (schema ``marts``, built by
``cfz transform`` behind the quality gates) may be registered as a version of the production
model. A run on any other schema (a developer's ``cfz dbt`` build in ``dev_marts``, a
``marts_candidate`` the gate has not passed) is a development run: it logs to an experiment of
its own (``<model>-dev``), keeps the fitted model as a run artifact and registers nothing, so
it can neither become ``champion`` nor ``challenger`` nor be scored into what BI reads.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from cfz_platform.ml.spec import ModelSpec

#: The one schema whose feature mart may train a registered model (published by ``cfz transform``).
PUBLISHED_SCHEMA = "marts"
#: The schema ``cfz dbt`` builds the marts into (dbt target ``dev``: ``dev_<schema>``).
DEV_SCHEMA = "dev_marts"
#: Suffix of the experiment development runs log to.
DEV_EXPERIMENT_SUFFIX = "-dev"


@dataclass(frozen=True)
class TrainingDestination:
    """The experiment a run logs to and the registered model it adds a version to (None:
    a development run, nothing registered)."""

    features_table: str
    experiment: str
    registered_model: str | None

    @property
    def is_development(self) -> bool:
        return self.registered_model is None

    def describe(self) -> str:
        if self.is_development:
            return (
                f"development run on {self.features_table} (not the published "
                f"{PUBLISHED_SCHEMA!r} schema): logged to experiment {self.experiment!r}, "
                "nothing registered"
            )
        return f"production run on {self.features_table}: registers {self.registered_model!r}"


def compute_features_schema(features_table: str) -> str:
    """The schema of a ``schema.table`` name (an unqualified name counts as no schema: '')."""
    schema, _, table = features_table.partition(".")
    return schema if table else ""


def is_published(features_table: str) -> bool:
    """True only for a table in the published ``marts`` schema (exact, case-sensitive: the
    warehouse's identifiers are quoted)."""
    return compute_features_schema(features_table) == PUBLISHED_SCHEMA


def compute_destination(spec: ModelSpec, experiment: str) -> TrainingDestination:
    """Where a run of ``spec`` goes.

    Steps: 1. read the schema of ``spec.features_table``; 2. ``marts``: the production
    experiment ``experiment`` and the spec's registered model; 3. anything else: the
    experiment ``<spec.name>-dev`` and no registered model.
    """
    if is_published(spec.features_table):
        return TrainingDestination(spec.features_table, experiment, spec.registered_model)
    return TrainingDestination(spec.features_table, f"{spec.name}{DEV_EXPERIMENT_SUFFIX}", None)


def compute_dev_spec(spec: ModelSpec, schema: str = DEV_SCHEMA) -> ModelSpec:
    """The spec reading its feature table from the developer's build (``dev_marts`` by
    default) instead of the published ``marts``; every other setting unchanged."""
    table = spec.features_table.partition(".")[2] or spec.features_table
    return dataclasses.replace(spec, features_table=f"{schema}.{table}")
