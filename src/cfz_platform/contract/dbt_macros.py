"""Generate ``dbt/macros/sdtm_domains.sql`` from the SDTM domain registry.

dbt cannot import Python, so the registry's staging facts are written into a macro file that
the models call; ``tests/contract/test_domain_registry.py`` fails when the committed file
differs from what this module renders (run ``uv run python -m cfz_platform.contract.dbt_macros``).

Steps of ``render_macros``:
1. ``key_qualifier_suffixes()``: the qualifiers that extend every natural key;
2. ``sdtm_key_cols(domain)``: each domain's natural key as SQL over its raw columns;
3. ``sdtm_key_exclude_qualifiers(domain)``: qualifiers already in the business key;
4. ``sdtm_issue_domains()``: (DOMAIN, staging model, key text SQL) for ``audit.data_issues``.
"""

from __future__ import annotations

import json
from pathlib import Path

from cfz_platform.config import dbt_project_dir
from cfz_platform.contract.domains import KEY_QUALIFIER_SUFFIXES, REGISTRY

MACRO_FILE = "macros/sdtm_domains.sql"
HEADER = (
    "{#- GENERATED from src/cfz_platform/contract/domains.py by\n"
    "    `uv run python -m cfz_platform.contract.dbt_macros`: do not edit by hand. -#}\n"
)


def _jinja(value: object) -> str:
    return json.dumps(value)


def render_macros() -> str:
    """The text of the generated macro file (see the module docstring)."""
    keys = {d.name: d.key_sql() for d in REGISTRY}
    excludes = {d.name: list(d.exclude_qualifiers) for d in REGISTRY}
    issues = [[d.name.upper(), f"stg_sdtm__{d.name}", d.issue_key_sql()] for d in REGISTRY]
    return (
        HEADER
        + "\n{% macro key_qualifier_suffixes() -%}\n"
        + f"  {{{{ return({_jinja(list(KEY_QUALIFIER_SUFFIXES))}) }}}}\n"
        + "{%- endmacro %}\n"
        + "\n{% macro sdtm_key_cols(domain) -%}\n"
        + f"  {{{{ return({_jinja(keys)}[domain]) }}}}\n"
        + "{%- endmacro %}\n"
        + "\n{% macro sdtm_key_exclude_qualifiers(domain) -%}\n"
        + f"  {{{{ return({_jinja(excludes)}[domain]) }}}}\n"
        + "{%- endmacro %}\n"
        + "\n{% macro sdtm_issue_domains() -%}\n"
        + f"  {{{{ return({_jinja(issues)}) }}}}\n"
        + "{%- endmacro %}\n"
    )


def write_macros(project_dir: Path | None = None) -> Path:
    """Write the generated macro file into the dbt project; return its path."""
    path = (project_dir or dbt_project_dir()) / MACRO_FILE
    path.write_text(render_macros(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_macros())
