#!/usr/bin/env bash
# The long schemathesis run: every operation of the app's OpenAPI with 300 examples each
# (the test command runs 30). About a minute on 2 cores.  FUZZ_EXAMPLES overrides.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_EXAMPLES="${FUZZ_EXAMPLES:-300}" exec python -m pytest -q -p no:cacheprovider tests/api/test_fuzz.py "$@"
