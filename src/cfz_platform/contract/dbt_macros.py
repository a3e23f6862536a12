"""Generate the dbt macro files that carry Python definitions into dbt.

dbt cannot import Python, so two definitions are written into macro files the models call:
``dbt/macros/sdtm_domains.sql`` from the SDTM domain registry (``contract/domains.py``) and
``dbt/macros/current_version.sql`` from the current-version rule
(``contract/current_version.py``, which the raw gate builds its SQL from too).
``tests/contract/test_domain_registry.py`` fails when a committed file differs from what this
module renders (run ``uv run python -m cfz_platform.contract.dbt_macros``).

Steps of ``render_macros`` (``sdtm_domains.sql``):
1. ``key_qualifier_suffixes()``: the qualifiers that extend every natural key;
2. ``sdtm_key_cols(domain)``: each domain's natural key as SQL over its raw columns;
3. ``sdtm_key_exclude_qualifiers(domain)``: qualifiers already in the business key;
4. ``sdtm_issue_domains()``: (DOMAIN, staging model, key text SQL) for ``audit.data_issues``.

Steps of ``render_current_version_macros`` (``current_version.sql``), each the rule's
template with Jinja in place of the Python arguments:
1. ``superseded_files()``: ``SUPERSEDED_FILES`` over ``source('audit', 'ingest_files')``,
   bounded by var ``raw_through_file_id`` when set;
2. ``norm_qualifier(col)``: ``NORM_QUALIFIER``;
3. ``extended_natural_key(key_cols, qualifiers, alias)``: ``KEY_HASH`` with a Jinja loop over
   the business-key parts and one over the qualifiers present;
4. ``version_order(alias=none)``: the ``VERSION_ORDER`` terms.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from cfz_platform.config import dbt_project_dir
from cfz_platform.contract import current_version as rule
from cfz_platform.contract.domains import KEY_QUALIFIER_SUFFIXES, REGISTRY

MACRO_FILE = "macros/sdtm_domains.sql"
CURRENT_VERSION_MACRO_FILE = "macros/current_version.sql"


def _header(source: str) -> str:
    return (
        f"{{#- GENERATED from src/cfz_platform/contract/{source} by\n"
        "    `uv run python -m cfz_platform.contract.dbt_macros`: do not edit by hand. -#}\n"
    )


HEADER = _header("domains.py")


def _jinja(value: object) -> str:
    return json.dumps(value)


def _macro(signature: str, body: str, doc: str) -> str:
    return f"\n{{#- {doc} -#}}\n{{% macro {signature} -%}}\n  {body}\n{{%- endmacro %}}\n"


def render_macros() -> str:
    """The text of ``sdtm_domains.sql`` (see the module docstring)."""
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


def render_current_version_macros() -> str:
    """The text of ``current_version.sql`` (see the module docstring)."""
    upper_bound = (
        "{% if upper is not none %}"
        + rule.UPPER_BOUND.format(upper="{{ upper | int }}")
        + "{% endif %}"
    )
    superseded = "{%- set upper = watermark_var('raw_through_file_id') -%}\n  " + (
        rule.SUPERSEDED_FILES.format(
            files="{{ source('audit', 'ingest_files') }}", upper_bound=upper_bound
        )
    )
    key_hash = rule.KEY_HASH.format(
        parts="{% for c in key_cols %}"
        + f"{{{{ {_jinja(rule.KEY_PART_SEPARATOR)} if not loop.first }}}}"
        + rule.KEY_PART.format(part="{{ c }}")
        + "{% endfor %}",
        qualifiers="{% for q in qualifiers %}"
        + rule.KEY_QUALIFIER.format(name="{{ q }}", value="{{ norm_qualifier(alias ~ '.' ~ q) }}")
        + "{% endfor %}",
    )
    order = "{%- set p = alias ~ '.' if alias else '' -%}\n  " + ", ".join(
        term.format(p="{{ p }}") for term in rule.VERSION_ORDER
    )
    return (
        _header("current_version.py")
        + _macro(
            "superseded_files()",
            superseded,
            "Loaded files that a newer loaded file of the same path and delivery supersedes "
            "whole (feeds.md: a file re-sent under its delivery id): their rows stay in raw but "
            "no longer count. With var raw_through_file_id, only a re-send at or below it.",
        )
        + _macro(
            "norm_qualifier(col)",
            rule.norm_qualifier_sql("{{ col }}"),
            "A qualifier value for the key: trimmed, upper-case, an integral number without "
            "'.0', empty -> null.",
        )
        + _macro(
            "extended_natural_key(key_cols, qualifiers, alias)",
            key_hash,
            "md5 of the extended natural key: the business key (a null part as '<null>'), "
            "then '|name=value' per non-empty qualifier (an empty or absent one adds nothing, "
            "so a record keeps its key when a qualifier column first appears in raw).",
        )
        + _macro(
            "version_order(alias=none)",
            order,
            "Version order, newest first: the newest delivery, then the newest file.",
        )
    )


#: Each generated file (relative to the dbt project) and its renderer.
GENERATED: dict[str, Callable[[], str]] = {
    MACRO_FILE: render_macros,
    CURRENT_VERSION_MACRO_FILE: render_current_version_macros,
}


def write_macros(project_dir: Path | None = None) -> list[Path]:
    """Write every generated macro file into the dbt project; return their paths."""
    paths = []
    for rel, render in GENERATED.items():
        path = (project_dir or dbt_project_dir()) / rel
        path.write_text(render(), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_macros():
        print(written)
