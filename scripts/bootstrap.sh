#!/usr/bin/env bash
# Create .venv (if needed) and install the project with its test extras into it.
# Sourced by scripts/test.sh and scripts/demo.sh; safe to run repeatedly.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# the stamp covers the C extensions' sources too: a changed loop is rebuilt, never left stale
stamp=.venv/.installed-$(cat pyproject.toml nanobragg/*.c | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
    # torch is pinned to the CPU wheel available locally; the rest comes from PyPI.
    .venv/bin/pip install --quiet --disable-pip-version-check "torch==2.13.0"
    .venv/bin/pip install --quiet --disable-pip-version-check -e ".[test,formats]"
    touch "$stamp"
fi
