"""Platform log lines outside a flow run are not warnings (issue 24, item 2).

The ``cfz_platform`` loggers ship their lines to the flow run's log in the Prefect API. A
line logged where no flow run is (``cfz transform``, most tests) used to raise Prefect's
"attempted to send logs to the API without a flow run id" warning: 447 of them in one test
run. The process below is configured as every ``cfz`` command and every flow module is.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT

_PROBE = """
import logging
from cfz_platform.config import apply_runtime_env
apply_runtime_env()
import prefect  # noqa: F401 - Prefect's logging setup, with the platform's extra loggers
from cfz_platform.orchestration.run_logging import attach_platform_loggers
attach_platform_loggers()
logging.getLogger("cfz_platform.transform.build").info("dbt build of marts_candidate")
logging.getLogger("cfz.nightly").info("[3/8] dbt build")
print("logged")
"""


def test_a_platform_line_outside_a_flow_run_raises_no_prefect_warning():
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", _PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "logged"
    assert "without a flow run id" not in proc.stderr
