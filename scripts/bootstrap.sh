#!/usr/bin/env bash
# Installs what the app, its tests and its local servers need, into this checkout only:
# a Python venv (.venv) from requirements-dev.txt and node_modules from package-lock.json.
# Cheap to run again: each part is redone only when its input file changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
  echo "bootstrap: Python 3.11 or newer is required (found $("$PYTHON" --version 2>&1))" >&2
  exit 1
fi

stamp() { sha256sum "$@" | sha256sum | cut -c1-16; }

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
want=$(stamp requirements.txt requirements-dev.txt)
if [ "$(cat .venv/.installed 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing Python packages into .venv"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  echo "$want" > .venv/.installed
fi

want=$(stamp package-lock.json)
if [ "$(cat node_modules/.installed 2>/dev/null)" != "$want" ]; then
  echo "bootstrap: installing the local servers (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > node_modules/.installed
fi

# The console's browser tests (tests/browser) drive the system's chromium through Playwright
# (pinned in requirements-dev.txt; its own browser download is never used). Installed where
# that is possible without asking: as root with apt-get (CI on Debian); elsewhere they skip.
if ! command -v chromium > /dev/null 2>&1 && [ ! -x /usr/bin/chromium ] && command -v apt-get > /dev/null 2>&1; then
  as_root=""
  if [ "$(id -u)" != 0 ] && sudo -n true > /dev/null 2>&1; then as_root="sudo -n"; fi
  if [ "$(id -u)" = 0 ] || [ -n "$as_root" ]; then
    echo "bootstrap: installing chromium (apt-get) for the console's browser tests"
    DEBIAN_FRONTEND=noninteractive $as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq chromium > /dev/null
  fi
fi
