"""A developer's dbt build (``cfz dbt``, target ``dev``) that reads what it does not rebuild
from the published schemas.

Without it, ``cfz dbt -- build -s fct_ml_features`` fails: the model's unit test reads the
column types of ``dev_marts.dim_subject``, which the developer never built; and
``-s +fct_ml_features`` errors the relationship tests that dbt selects with it (eager indirect
selection) on marts outside the selection (``dev_marts.fct_adverse_events``...). dbt's own
answer is deferral: every ``ref`` to a node that is not selected and not built in the ``dev_*``
schemas resolves to its relation in a state manifest. The state here is the project parsed for
the ``warehouse`` target (``staging``, ``marts``, ``adam``: what ``cfz transform`` published),
in a target folder of its own so both parses stay partial (about 2 s after the first).
"""

from __future__ import annotations

from pathlib import Path

from cfz_platform.transform.dbt_runner import run_dbt, write_profiles

#: dbt commands that execute nodes and so may need their unselected parents.
DEFER_COMMANDS = frozenset({"build", "run", "test", "compile", "show", "seed", "snapshot"})
#: Flags that mean the developer chose deferral (or its absence) already.
DEFER_FLAGS = frozenset({"--defer", "--no-defer", "--state", "--defer-state", "--favor-state"})
STATE_SUBDIR = "published-state"


def compute_target(args: list[str]) -> str | None:
    """The value of ``--target``/``-t`` in dbt arguments (``--target=x`` too), or None."""
    for i, arg in enumerate(args):
        if arg in ("--target", "-t") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--target="):
            return arg.split("=", 1)[1]
    return None


def needs_published_state(args: list[str]) -> bool:
    """True when a ``cfz dbt`` command should defer to the published schemas.

    Steps: 1. the target is ``dev`` (the default of ``cfz dbt``); 2. the dbt command (first
    argument that is not an option) executes nodes (``DEFER_COMMANDS``); 3. the developer
    passed no deferral or state flag of their own.
    """
    if (compute_target(args) or "dev") != "dev":
        return False
    command = next((a for a in args if not a.startswith("-")), None)
    if command not in DEFER_COMMANDS:
        return False
    return not any(a.split("=", 1)[0] in DEFER_FLAGS for a in args)


def published_state() -> Path | None:
    """Parse the project for the ``warehouse`` target into its own target folder; the folder
    holding its ``manifest.json`` (None when the parse fails: the command then runs without
    deferral and reports the project's error itself)."""
    result = run_dbt(
        ["parse", "--target", "warehouse", "--quiet"],
        raise_on_failure=False,
        target_subdir=STATE_SUBDIR,
    )
    folder = write_profiles() / "target" / STATE_SUBDIR
    return folder if result.success and (folder / "manifest.json").exists() else None


def defer_to_published(args: list[str]) -> list[str]:
    """``args`` with ``--defer --state <published state>`` appended when
    ``needs_published_state`` says so (and the state could be parsed)."""
    if not needs_published_state(args):
        return args
    state = published_state()
    if state is None:
        return args
    return [*args, "--defer", "--state", str(state)]
