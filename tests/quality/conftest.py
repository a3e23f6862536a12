"""Fixtures of the quality-gate tests: a scratch GX project and small raw/mart builders."""

from __future__ import annotations

import os

import pytest

os.environ["GX_ANALYTICS_ENABLED"] = "false"


@pytest.fixture(scope="module")
def gx_dir(tmp_path_factory, warehouse_db):
    """A GX project folder for this module (never the committed ``expectations/``)."""
    path = tmp_path_factory.mktemp("gx")
    mp = pytest.MonkeyPatch()
    mp.setenv("CFZ_GX_PROJECT_DIR", str(path))
    yield path
    mp.undo()
