#!/usr/bin/env bash
# The test command: installs what is missing, then runs the whole suite. Test fixtures
# start the servers they need (Cosmos protocol server, devhost…) on free ports.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k inventory`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest "$@"
