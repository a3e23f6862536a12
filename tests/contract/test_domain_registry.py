"""The SDTM domain registry is the one source of truth: every layer reads its domains from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cfz_platform.config import dbt_project_dir
from cfz_platform.contract import current_version, dbt_macros
from cfz_platform.contract.domains import DOMAINS, REGISTRY
from cfz_platform.ingest.validation import RowChecker
from cfz_platform.quality import raw_gate
from cfz_platform.simulate import records


@pytest.mark.parametrize("macro_file", sorted(dbt_macros.GENERATED))
def test_generated_dbt_macros_match_their_definition(macro_file):
    """dbt's natural keys and data_issues list are the registry's, and its current-version
    rule is ``contract/current_version.py``'s: regenerate after an edit, never edit by hand."""
    committed = (dbt_project_dir() / macro_file).read_text(encoding="utf-8")
    assert committed == dbt_macros.GENERATED[macro_file](), (
        f"dbt/{macro_file} drifted from its definition: run "
        "`uv run python -m cfz_platform.contract.dbt_macros` and commit it"
    )


def test_the_current_version_rule_is_defined_once():
    """The generated macros are defined nowhere else in dbt/macros (a hand-written copy would
    shadow or clash with them), and the raw gate's SQL is built from the same templates."""
    generated = dbt_macros.render_current_version_macros()
    names = re.findall(r"\{% macro (\w+)\(", generated)
    assert names == ["superseded_files", "norm_qualifier", "extended_natural_key", "version_order"]
    macros = dbt_project_dir() / "macros"
    for path in sorted(macros.glob("*.sql")):
        if path.name == Path(dbt_macros.CURRENT_VERSION_MACRO_FILE).name:
            continue
        defined = set(re.findall(r"\{%-?\s*macro\s+(\w+)\s*\(", path.read_text()))
        assert not defined & set(names), (path.name, defined & set(names))
        assert "_delivery_id desc" not in path.read_text(), path.name  # the order: version_order
    query = raw_gate.current_query("vs", present={"vspos"})
    assert current_version.superseded_files_sql() in query
    assert current_version.version_order_sql("k") in query
    assert current_version.norm_qualifier_sql("r.vspos") in query


def test_every_staging_model_takes_its_key_from_the_registry():
    """No staging model declares its own natural key; every registry domain has one model."""
    staging = dbt_project_dir() / "models" / "staging" / "sdtm"
    models = {p.stem.removeprefix("stg_sdtm__"): p.read_text() for p in staging.glob("*.sql")}
    assert set(models) == set(DOMAINS)
    for name, text in models.items():
        assert not re.search(r"set key_cols = \[", text), name
        if "current_versions(" in text:
            assert f"sdtm_key_cols('{name}')" in text, name


def test_raw_gate_and_simulator_read_the_registry():
    """The gate's date classes and result columns and the simulator's feeds follow the entries."""
    assert raw_gate.STUDY_BOUND_DATE_COLUMNS == ("lbdtc", "exstdtc", "exendtc", "rsdtc", "vsdtc")
    assert raw_gate.FUTURE_ONLY_DATE_COLUMNS == {"dm": ("brthdtc",)}
    assert set(raw_gate.WARNING_DATE_COLUMNS) == {
        "exendtc",
        "cmstdtc",
        "cmendtc",
        "aeendtc",
        "mhstdtc",
        "mhendtc",
    }
    assert set(raw_gate.RESULT_COLUMNS) >= {"lborres", "exdose", "rsstresc", "aeterm", "vsorres"}
    assert {s.asset.name for s in raw_gate.raw_gate_suites()} == set(DOMAINS)
    for d in REGISTRY:
        if d.feed_columns:
            assert records.COLUMNS[d.name] == d.feed_columns
            missing = {c.lower() for c in d.required} - {c.lower() for c in d.feed_columns}
            assert not missing, (d.name, missing)


def test_an_empty_start_date_never_rejects_a_row_but_an_empty_term_does():
    """feeds.md: CMSTDTC and MHSTDTC may be empty (told apart by --SEQ); USUBJID and the term
    column must be present in every row."""
    cols = ["studyid", "domain", "usubjid", "cmseq", "cmtrt", "cmstdtc"]
    checker = RowChecker("cm", cols)
    assert checker.check(2, ["S", "CM", "01-001", "3", "ASPIRIN", ""], None) is None
    reject = checker.check(3, ["S", "CM", "01-001", "4", "", "2014"], None)
    assert reject is not None and reject.column_name == "cmtrt"
    cm_suite = next(s for s in raw_gate.raw_gate_suites() if s.asset.name == "cm")
    blocking = {c.key for c in cm_suite.checks if c.severity == "blocking"}
    assert "cmstdtc_not_null" not in blocking and "cmtrt_not_null" in blocking
