"""Orchestration helpers: the long-running Prefect server, run locks and run summaries."""
