"""The platform's own log lines in each Prefect flow run's log, however the run was started.

A flow run started by ``cfz nightly`` gets them from Prefect's logging setup
(``PREFECT_LOGGING_EXTRA_LOGGERS``, set by ``config.apply_runtime_env`` before Prefect is
imported). A run a worker starts (``prefect worker start``, a deployment's schedule) runs in
a process the CLI never touched: Prefect's logging is configured before our flow module is
imported, so the flow modules call ``attach_platform_loggers`` at import instead.
"""

from __future__ import annotations

import logging

#: The loggers whose INFO lines belong in a flow run's log: the package's modules
#: (``cfz_platform.*``) and the flows' own (``cfz.nightly``).
PLATFORM_LOGGERS = ("cfz_platform", "cfz")


def attach_platform_loggers() -> None:
    """Ship the platform loggers' INFO lines to the current flow run's log in the API.

    Steps:
    1. for each platform logger, set INFO when its level is not set (a worker's process
       leaves it to the root logger, at WARNING);
    2. add Prefect's API log handler unless it has one (idempotent: Prefect's own setup, or
       an earlier import, may have added it).

    Lines logged outside a flow run are dropped by the handler silently
    (``PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW=ignore``, set by ``apply_runtime_env``).
    """
    from prefect.logging.handlers import APILogHandler

    for name in PLATFORM_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        if not any(isinstance(h, APILogHandler) for h in logger.handlers):
            logger.addHandler(APILogHandler())


def prepare_flow_process() -> None:
    """What a flow module does at import so that a worker's process runs it like ``cfz``.

    Steps: apply the environment defaults every command shares (``apply_runtime_env``), then
    attach the platform loggers to the run log (``attach_platform_loggers``).
    """
    from cfz_platform.config import apply_runtime_env

    apply_runtime_env()
    attach_platform_loggers()
