#!/usr/bin/env bash
# make test's last step: the whole pytest suite, with sqlfluff over every dbt model beside it.
#
# Steps:
# 1. sqlfluff lint dbt/models (the dbt templater, compiled against the embedded warehouse,
#    which make test started before) in the background, its output kept in a file: one
#    process, not two (each sqlfluff process parses the whole dbt project again), so it takes
#    the CPU the two test workers leave idle (Prefect servers starting, waits for a schedule or
#    a lock, PostgreSQL writing) instead of adding a step of its own to the wall time;
# 2. pytest -n 2 --dist loadfile in the foreground (its output as it comes; extra arguments
#    go to pytest);
# 3. wait for sqlfluff, print its findings, and fail when either failed: every model is
#    still linted on every run, only no longer before the tests start.
set -uo pipefail
cd "$(dirname "$0")/.."

lint_log="$(mktemp)"
trap 'rm -f "$lint_log"' EXIT
(eval "$(uv run cfz db env)" && uv run sqlfluff lint dbt/models --processes 1) >"$lint_log" 2>&1 &
sqlfluff_pid=$!

uv run pytest -n 2 --dist loadfile "$@"
tests=$?

wait "$sqlfluff_pid"
lint=$?
echo "--- sqlfluff lint dbt/models (ran beside the tests) ---"
cat "$lint_log"
if [ "$lint" -ne 0 ]; then
  echo "error: sqlfluff found problems in dbt/models (above): fix them, e.g. eval \"\$(uv run cfz db env)\" && uv run sqlfluff fix dbt/models" >&2
fi
if [ "$tests" -ne 0 ]; then
  exit "$tests"
fi
exit "$lint"
