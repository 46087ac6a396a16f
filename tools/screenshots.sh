#!/usr/bin/env bash
# Regenerates the dashboard's screenshots (docs/screenshots/PAGE-{desktop,phone}.png): a real
# server and agent on loopback run a few tasks and a job, then Debian's chromium (Playwright from
# tools/setup.sh's $EDGEBENCH_CACHE_DIR/web-tests) photographs each page at 1280 and 390 px wide.
# Needs a build (tools/build.sh) with the onnxruntime backend.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE="${EDGEBENCH_CACHE_DIR:-${HOME:?HOME is not set; set EDGEBENCH_CACHE_DIR}/.cache/edgebench}"
MODULES="$CACHE/web-tests/node_modules"
[[ -d "$MODULES/@playwright/test" ]] || { echo "screenshots.sh: $MODULES is missing: run tools/setup.sh" >&2; exit 1; }
export EDGEBENCH_BINARY="${EDGEBENCH_BINARY:-$PWD/build/src/cli/edgebench}" EDGEBENCH_CACHE_DIR="$CACHE"
NODE_PATH="$MODULES" node tests/web/screenshots.js docs/screenshots
