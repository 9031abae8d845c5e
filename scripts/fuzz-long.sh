#!/usr/bin/env bash
# The long schemathesis run: every operation of the app's OpenAPI with 300 examples each
# (the test command runs 30), in the test command's environment (.venv-test/; PYTHON overrides).
# FUZZ_EXAMPLES overrides the count.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-300}" exec "${PYTHON:-.venv-test/bin/python}" -m pytest -q -p no:cacheprovider tests/api/test_fuzz.py "$@"
