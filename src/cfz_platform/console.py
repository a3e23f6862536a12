"""What the terminal shows of a command's log: the platform's progress, one message per failure.

A flow run through the command line logs twice what the command itself reports: Prefect's
engine logs every failed task and flow with its traceback ("Encountered exception during
execution", "Finished in state Failed(...)"), and the command then prints its one ``error:``
line. Without ``--debug`` the terminal keeps the platform's own lines (``cfz_platform``,
``cfz``) and what Prefect warns about, never a traceback; the flow run's log in the Prefect
UI keeps everything (its API handler sits on Prefect's loggers and sees each record first).
"""

from __future__ import annotations

import logging

#: Prefect engine messages that only restate a failure the command prints as its error line.
_RESTATED_FAILURE = (
    "Encountered exception during execution",
    "Finished in state",
    "Task run failed with exception",
    "Crash detected",
)


class PrefectChatterFilter(logging.Filter):
    """Drop Prefect's INFO chatter and its restatements of a failure from the terminal.

    Steps: a record of a logger outside ``prefect`` passes; a ``prefect`` record below
    WARNING is dropped (the command prints its own progress), and so is a Prefect service's
    "still processing items" at exit; a ``prefect.flow_runs`` or
    ``prefect.task_runs`` record that restates a failure is dropped (the command's
    ``error:`` line names it); any other warning passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Still processing items"):  # a Prefect service draining
            return False
        if not record.name.startswith("prefect"):
            return True
        if record.levelno < logging.WARNING:
            return False
        if record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            return not str(record.msg).startswith(_RESTATED_FAILURE)
        return True


class NoTracebackFormatter(logging.Formatter):
    """A formatter that writes a record's message without its traceback or stack."""

    def format(self, record: logging.LogRecord) -> str:
        plain = logging.makeLogRecord(record.__dict__)  # the record other handlers see is kept
        plain.exc_info = plain.exc_text = plain.stack_info = None
        return super().format(plain)


def quiet_terminal(handler: logging.Handler) -> None:
    """Make ``handler`` (the command's stderr handler) show one message per failure.

    Steps: keep the handler's format but drop tracebacks (``NoTracebackFormatter``); add
    ``PrefectChatterFilter``.
    """
    fmt = handler.formatter
    handler.setFormatter(
        NoTracebackFormatter(fmt._fmt if fmt else None, fmt.datefmt if fmt else None)
    )
    handler.addFilter(PrefectChatterFilter())
