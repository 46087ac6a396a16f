#!/usr/bin/env bash
# The one test command: setup (packages, runtimes, models, zoo), a build that requires every
# backend, the whole CTest suite, then a smoke run of every fuzzer (bench/fuzz.sh: its seed
# corpus and a few thousand executions each, in build-fuzz/). Exits non-zero when either fails.
# Arguments are passed to tools/setup.sh (e.g. --no-apt).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tools/setup.sh "$@"
EDGEBENCH_REQUIRE_ALL=1 bash tools/build.sh

echo "[test] ctest --test-dir build --output-on-failure -j2 --timeout 600"
rc=0
ctest --test-dir build --output-on-failure -j2 --timeout 600 || rc=$?
echo "[test] ctest exit status: $rc"

echo "[test] bash bench/fuzz.sh --runs 3000 --seed 1"
fuzz_rc=0
bash bench/fuzz.sh --runs 3000 --seed 1 || fuzz_rc=$?
echo "[test] fuzz smoke exit status: $fuzz_rc"
[[ $rc -ne 0 ]] && exit "$rc"
exit "$fuzz_rc"
