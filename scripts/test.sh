#!/usr/bin/env bash
# Install everything the tests need on a fresh Debian machine, then run every test.
# This is the README's test command; .ci/run runs exactly this.
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

# torch is pinned to the CPU build this machine type keeps on local disk (see requirements-test.txt).
python -m pip install -q --disable-pip-version-check -r requirements-test.txt

echo "== ruff"
ruff check .
ruff format --check .

if compgen -G "tests/js/*.test.js" > /dev/null || compgen -G "tests/js/*.test.mjs" > /dev/null; then
  echo "== node --test"
  node --test tests/js/
fi

echo "== pytest"
python -m pytest -q -p no:cacheprovider "$@"
