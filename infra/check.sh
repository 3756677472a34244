#!/usr/bin/env bash
# Static checks of infra/ that need no cloud access and no terraform binary:
#   1. the pytest checks (parsing, references, settings vs the app, tables vs aws/tables.py);
#   2. checkov on every root (skips are justified next to each resource: #checkov:skip=...).
# checkov lives in its own venv (infra/.checkov-venv): it pins boto3 1.35.x, which conflicts
# with the project's boto3 pin in requirements-dev.txt.
set -euo pipefail
cd "$(dirname "$0")/.."

CHECKOV_VERSION="${CHECKOV_VERSION:-3.3.30}"
VENV=infra/.checkov-venv

.venv/bin/python -m pytest tests/infra -q

if [ ! -x "$VENV/bin/checkov" ] || ! "$VENV/bin/checkov" --version | grep -qx "$CHECKOV_VERSION"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "checkov==$CHECKOV_VERSION"
fi
# --skip-download / BC_SKIP_MAPPING: no calls to the Prisma Cloud API (offline, same result).
BC_SKIP_MAPPING=TRUE "$VENV/bin/checkov" -d infra --framework terraform --quiet --compact --skip-download
