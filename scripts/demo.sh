#!/usr/bin/env bash
# The demo command: installs what is missing, then plays the saga's four cross-cloud stories
# (paid, declined, reply late past the timeout, AWS rolls back before the pivot) on a stack
# of its own (free ports), printing each saga's timeline and the invariants on both clouds.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m local_cloud.demo "$@"
