#!/usr/bin/env bash
# Set up .venv if needed, then run the default test suite (heavy tests: add `-m heavy`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh
exec .venv/bin/python -m pytest -q "$@"
