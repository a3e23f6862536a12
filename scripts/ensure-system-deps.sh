#!/usr/bin/env bash
# Make sure the machine has what the platform needs outside Python:
#   - uv (installs the locked Python environment in seconds);
#   - PostgreSQL server binaries (the embedded warehouse);
#   - Chromium, only when CFZ_NEED_BROWSER=1 (the report's browser test).
# Installs from PyPI / Debian when missing and allowed (root with apt-get); otherwise stops
# with a clear message.
set -euo pipefail

if ! command -v uv >/dev/null 2>&1; then
  echo "[setup] installing uv" >&2
  python3 -m pip install -q uv >/dev/null 2>&1 || python3 -m pip install --user -q uv
fi

have_pg() {
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && return 0; done
  command -v initdb >/dev/null 2>&1
}
apt_install() {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[setup] installing Debian packages: $*" >&2
    (apt-get install -y -q "$@" >/dev/null 2>&1) || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$@" >/dev/null)
  else
    return 1
  fi
}

if ! have_pg; then
  apt_install postgresql || {
    echo "error: PostgreSQL server binaries (initdb, pg_ctl) are missing. Install Debian's 'postgresql' package, or set CFZ_DATABASE_URL to an existing server." >&2
    exit 1
  }
fi

if [ "${CFZ_NEED_BROWSER:-0}" = 1 ] && ! command -v chromium >/dev/null 2>&1; then
  apt_install chromium || echo "[setup] warning: chromium is not installed; browser tests will be skipped" >&2
fi
