"""The simulator is a leaf: no module under ``cfz_platform/simulate/`` imports another
``cfz_platform`` package (the marts, the ML code, the database, ingestion...). Whatever reads
what the platform built lives in ``cfz_platform.agreement``.

One declared exception: the SDTM domain registry (``cfz_platform.contract.domains``), the feed
contract as data, which gives the simulator's writers their column orders; it is itself a
leaf (it imports no ``cfz_platform`` module), so the simulator still reaches nothing else.

Static: every ``import`` and ``from ... import`` of every module, top level or inside a
function, read with ``ast`` (relative imports resolved against the package).
"""

from __future__ import annotations

import ast
from pathlib import Path

import cfz_platform

SRC = Path(cfz_platform.__file__).parent
SIMULATE = SRC / "simulate"
#: The feed contract as data; the one package the simulator may read (see the docstring).
REGISTRY = "cfz_platform.contract.domains"


def imported_modules(source: str, package: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of each import in ``source``, a module of ``package``;
    for ``from X import a`` both ``X`` and ``X.a`` (``a`` may be a module)."""
    parts = package.split(".")
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
    return found


def foreign(module: str, own: str) -> bool:
    """A ``cfz_platform`` module outside the package ``own`` (nor the package root itself)."""
    parts = module.split(".")
    return (
        parts[0] == "cfz_platform"
        and len(parts) > 1
        and not (module == own or module.startswith(own + "."))
    )


def package_of(path: Path) -> str:
    return ".".join(["cfz_platform", *path.relative_to(SRC).parent.parts])


def test_no_simulate_module_imports_another_cfz_platform_package():
    modules = sorted(SIMULATE.rglob("*.py"))
    assert len(modules) > 20, "the simulator's modules were not found"
    offending = [
        f"{path.relative_to(SRC)}:{line} imports {module}"
        for path in modules
        for line, module in imported_modules(path.read_text(encoding="utf-8"), package_of(path))
        if foreign(module, "cfz_platform.simulate")
        and not (module == REGISTRY or module.startswith(REGISTRY + "."))
    ]
    assert not offending, "simulate must stay a leaf:\n" + "\n".join(offending)


def test_the_registry_the_simulator_reads_is_itself_a_leaf():
    path = SRC / "contract" / "domains.py"
    package_init = SRC / "contract" / "__init__.py"
    offending = [
        f"{p.relative_to(SRC)}:{line} imports {module}"
        for p in (path, package_init)
        for line, module in imported_modules(p.read_text(encoding="utf-8"), "cfz_platform.contract")
        if module.split(".")[0] == "cfz_platform"
    ]
    assert not offending, "\n".join(offending)


def test_the_check_sees_imports_inside_functions_and_relative_ones():
    source = (
        "import numpy as np\n"
        "from cfz_platform.simulate import params\n"
        "def f():\n    from cfz_platform.ml.spec import load_spec\n"
        "from .. import db\nfrom . import escalation\n"
    )
    modules = [m for _, m in imported_modules(source, "cfz_platform.simulate")]
    assert {m for m in modules if foreign(m, "cfz_platform.simulate")} == {
        "cfz_platform.ml.spec",
        "cfz_platform.ml.spec.load_spec",
        "cfz_platform.db",
    }
