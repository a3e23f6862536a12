"""Fixtures for the report tests: a warehouse holding the hand-built marts."""

from __future__ import annotations

import pytest

from tests.report.marts_fixture import build_fixture_marts


@pytest.fixture(scope="module")
def report_marts(db):
    """The module's warehouse, filled with the hand-built marts; yields its name."""
    build_fixture_marts(db)
    return db.info.dbname
