#!/usr/bin/env bash
# Regenerates the dashboard's screenshots (docs/screenshots/PAGE-{desktop,phone}.png): a real
# server and agent on loopback run a few tasks and a job, then Debian's chromium (Playwright and
# node from tools/setup.sh's $EDGEBENCH_CACHE_DIR) photographs each page at 1280 and 390 px wide.
# Needs a build (tools/build.sh) with the onnxruntime backend.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tests/web/env.sh
export EDGEBENCH_BINARY="${EDGEBENCH_BINARY:-$PWD/build/src/cli/edgebench}" EDGEBENCH_CACHE_DIR="$CACHE"
"$NODE" tests/web/screenshots.js docs/screenshots
