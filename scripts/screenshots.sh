#!/usr/bin/env bash
# Write the screenshots for people (README, closing notes) to artifacts/screenshots/: every
# browser test, with the screenshot tests and the panels' pictures switched on.  Uses the
# test command's environment (.venv-test/; run `bash scripts/test.sh` once first).
set -euo pipefail
cd "$(dirname "$0")/.."
LSTMVIS_SCREENSHOTS=1 exec .venv-test/bin/python -m pytest -q -p no:cacheprovider -m "browser or screenshots" tests/web "$@"
