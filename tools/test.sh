#!/usr/bin/env bash
# The one test command: setup (packages, runtimes, models, zoo), a build that requires every
# backend, then the whole CTest suite. Exits with ctest's status.
# Arguments are passed to tools/setup.sh (e.g. --no-apt).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/setup.sh "$@"
EDGEBENCH_REQUIRE_ALL=1 bash tools/build.sh

echo "[test] ctest --test-dir build --output-on-failure -j2 --timeout 600"
rc=0
ctest --test-dir build --output-on-failure -j2 --timeout 600 || rc=$?
echo "[test] ctest exit status: $rc"
exit "$rc"
