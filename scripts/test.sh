#!/usr/bin/env bash
# Install everything the tests need, then run every test.  This is the README's test command;
# .ci/run runs exactly this.  Extra arguments go to pytest.
#
# The tests run in a virtual environment this script makes from the requirement files alone
# (.venv-test/), so a package installed by hand elsewhere cannot hide a missing requirement.
# Locally it is reused while requirements*.txt and the Python version are unchanged; in CI
# (CI=true) or with FRESH_VENV=1 it is always made anew.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Real headless Chromium for the browser tests: Debian's package, no browser download.
# fonts-nanum: a Korean font, so the Korean screenshots show letters, not boxes.
missing=""
[ -x /usr/bin/chromium ] || missing="$missing chromium"
dpkg -s fonts-nanum > /dev/null 2>&1 || missing="$missing fonts-nanum"
if [ -n "$missing" ]; then
  as_root apt-get update -qq
  # shellcheck disable=SC2086
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing
fi

PYTHON="${PYTHON:-python3}"
VENV="${LSTMVIS_TEST_VENV:-.venv-test}"
# What the environment was made from: both requirement files and the interpreter's version.
stamp="$(cat requirements.txt requirements-test.txt; "$PYTHON" -VV)"
stamp="$(printf '%s' "$stamp" | sha256sum | cut -d' ' -f1)"
if [ "${CI:-}" = "true" ] || [ "${FRESH_VENV:-}" = "1" ] || [ ! -x "$VENV/bin/python" ] \
  || [ "$(cat "$VENV/.requirements-stamp" 2> /dev/null)" != "$stamp" ]; then
  echo "== making $VENV from requirements-test.txt"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
  # torch is pinned to the CPU build this machine type keeps on local disk (see requirements-test.txt).
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-test.txt
  echo "$stamp" > "$VENV/.requirements-stamp"
fi
PY="$VENV/bin/python"

# axe-core for the accessibility tests (package.json; node_modules/ is not committed): from
# the npm registry with the committed lock, again whenever the lock changes.
lock_stamp="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat node_modules/.lock-stamp 2> /dev/null)" != "$lock_stamp" ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund
  echo "$lock_stamp" > node_modules/.lock-stamp
fi

echo "== ruff"
"$PY" -m ruff check .
"$PY" -m ruff format --check .

echo "== node --test"
node --test tests/js/

echo "== pytest"
# Two workers (one per core here); each has its own model store, servers and Chromium.
# Modules stay whole on one worker (--dist loadscope), so module-scoped browser contexts
# and servers are made once.  LSTMVIS_TEST_WORKERS=0 runs everything in one process.
"$PY" -m pytest -q -p no:cacheprovider -n "${LSTMVIS_TEST_WORKERS:-2}" --dist loadscope "$@"
