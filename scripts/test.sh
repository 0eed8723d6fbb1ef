#!/usr/bin/env bash
# The test command: install what the tests need, lint, type-check, then run the suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh --test
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/spine-cds knowledge validate
.venv/bin/python -m pytest "$@"
