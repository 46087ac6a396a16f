#!/usr/bin/env bash
# Runs the dashboard's browser tests (Playwright, Debian's chromium) against a real server and
# agent: tests/web/run.sh [playwright test arguments]. EDGEBENCH_BINARY names the binary;
# @playwright/test comes from $EDGEBENCH_CACHE_DIR/web-tests (tools/setup.sh installs it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
CACHE="${EDGEBENCH_CACHE_DIR:-${HOME:?HOME is not set; set EDGEBENCH_CACHE_DIR}/.cache/edgebench}"
MODULES="$CACHE/web-tests/node_modules"
if [[ ! -x "$MODULES/.bin/playwright" ]]; then
  echo "run.sh: $MODULES/.bin/playwright is missing: run tools/setup.sh" >&2
  exit 1
fi
export NODE_PATH="$MODULES" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
exec "$MODULES/.bin/playwright" test --config playwright.config.js "$@"
