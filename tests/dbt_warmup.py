"""dbt's per-process first-use work, done once in the tests' forkserver (tests/cfz_process.py).

The first dbt command of a process spends 1-2 s of CPU that the next one does not: mashumaro
generates the (de)serialisation code of dbt's dataclasses (the manifest, its nodes, the
project) the first time each is packed or unpacked, and dbt-common builds and caches the JSON
schema it validates the project and profile with. Every forked `cfz` used to pay it again.

Importing this module (one of the forkserver's ``PRELOAD`` names) runs ``dbt parse`` of the
project twice, offline, into a temporary folder: the first parse writes the manifest and
the partial-parse file (the pack code), the second reads the partial-parse file back (the
unpack code). The forkserver's children inherit the generated code.

It then compiles the Jinja template of every macro the parse found (dbt's, the adapter's, the
project's: 557) into dbt-common's process-wide ``template_cache``, keyed by the macro's text
and never cleared. A fresh process compiles each macro the first time a node calls it: a
small full build spent about 1 s of CPU there (5.5% of a `cfz transform`'s samples in py-spy).
The forked children find them compiled.

What it must not leave behind (checked by tests/test_cfz_process.py): a thread, Python or
native, an open connection, a file in the project. dbt's static parser (``dbt_extractor``,
Rust) starts a thread pool on first use, which a fork does not carry over: a child's first
parse then waited forever for it. So the warmup parses with ``--no-static-parser``. The
profile points at a port nobody listens on: ``dbt parse`` never connects, and if it ever did
it would fail here and not in a test. The project folder is read, never written
(``--target-path``, ``--log-path`` in the temporary folder).
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

#: How many distinct macro templates ``warm_dbt`` compiled (tests/test_cfz_process.py reads it).
warmed_macros = 0

PROJECT_DIR = Path(__file__).resolve().parents[1] / "dbt"

_PROFILE = """\
cfz:
  target: warehouse
  outputs:
    warehouse:
      type: postgres
      host: 127.0.0.1
      port: 1
      user: warmup
      password: warmup
      dbname: warmup
      schema: staging
      threads: 1
"""


def warm_dbt() -> None:
    """Run ``dbt parse`` of the project twice in a temporary folder, output discarded.

    Steps: a profile in a temporary folder; the CFZ_DBT_* variables the project reads unset
    for the call (the server's environment is the tests', which sets none, but a developer's
    shell might); two parses with ``--no-send-anonymous-usage-stats --no-static-parser``,
    dbt's console output swallowed; every macro of the second parse's manifest compiled into
    ``template_cache``; the folder removed and the environment restored.
    """
    from dbt.cli.main import dbtRunner
    from dbt_common.clients.jinja import template_cache

    global warmed_macros

    folder = Path(tempfile.mkdtemp(prefix="cfz-dbt-warmup-"))
    saved = dict(os.environ)
    try:
        (folder / "profiles.yml").write_text(_PROFILE)
        for name in [n for n in os.environ if n.startswith("CFZ_DBT_")]:
            del os.environ[name]
        args = [
            "--no-send-anonymous-usage-stats",
            "--quiet",
            "--no-static-parser",
            "parse",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(folder),
            "--target-path",
            str(folder / "target"),
            "--log-path",
            str(folder / "logs"),
        ]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            for _ in range(2):
                result = dbtRunner().invoke(args)
        # a project that does not parse warms nothing more: the tests' own dbt commands then
        # say why, not the fork server failing at import
        macros = list(result.result.macros.values()) if result.success else []
        for macro in macros:
            template_cache.get_node_template(macro)
        warmed_macros = len({macro.macro_sql for macro in macros})
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(folder, ignore_errors=True)


warm_dbt()
