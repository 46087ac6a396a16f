#!/usr/bin/env bash
# Runs the dashboard's browser tests (Playwright, Debian's chromium) against a real server and
# agent: tests/web/run.sh [playwright test arguments]. EDGEBENCH_BINARY names the binary;
# node and @playwright/test come from $EDGEBENCH_CACHE_DIR (tools/setup.sh installs them).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
source ./env.sh
echo "run.sh: $NODE $("$NODE" --version)"
exec "$NODE" "$MODULES/@playwright/test/cli.js" test --config playwright.config.js "$@"
