"""Every column of the SDTM staging models is documented (issue 17).

Researchers query the staging tables directly; persist_docs carries the YAML text of
models/staging/sdtm/_sdtm__models.yml to the table and column comments in PostgreSQL. The
checks are the ones of the intermediate models (tests/transform/test_dbt_graph.py), run over
the stg_sdtm__* tables of a copy of the session's built trial (tests/trial_template.py).
"""

from __future__ import annotations

import pytest

from cfz_platform.contract.domains import DOMAINS
from tests.transform.test_dbt_graph import (  # noqa: F401  (manifest, models: fixtures)
    manifest,
    models,
    uncommented_columns,
    undocumented_columns,
)

STAGING_MODELS = {f"stg_sdtm__{d}" for d in DOMAINS}


@pytest.fixture(scope="module")
def warehouse_db(trial_warehouse: str) -> str:
    """A copy of the session's built trial: every staging table exists, with its comments."""
    return trial_warehouse


def test_every_staging_column_is_documented(models, db):  # noqa: F811 (fixture)
    """Each stg_sdtm__* model has a description and documents every column of its table
    (names as built), including the lineage columns and is_usable/issue."""
    assert {n["name"] for n in models.values()} >= STAGING_MODELS
    assert undocumented_columns(db, models, "staging", "stg_sdtm__") == []


def test_staging_comments_reach_postgres(db):
    """persist_docs wrote the YAML text as comments on every column of the staging tables."""
    built = {
        r[0]
        for r in db.execute(
            "select table_name from information_schema.tables where table_schema = 'staging'"
            " and table_name like 'stg\\_sdtm\\_\\_%'"
        )
    }
    assert built >= STAGING_MODELS
    assert uncommented_columns(db, "stg_sdtm__") == []
