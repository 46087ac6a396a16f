#!/usr/bin/env bash
# Configures (CMake + Ninja) and builds edgebench into build/.
# Run tools/setup.sh first (it provides the downloaded runtimes in the cache directory).
#
# Environment:
#   EDGEBENCH_CACHE_DIR    cache directory made by tools/setup.sh (default: $HOME/.cache/edgebench)
#   EDGEBENCH_REQUIRE_ALL  1: every backend (null, onnxruntime, opencv, libtorch, tflite, armnn) must be
#                          compiled, otherwise configuration fails (tools/test.sh and CI set this)
# Extra arguments are passed to the CMake configure step, e.g. tools/build.sh -DEDGEBENCH_BUILD_BENCH=OFF
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CACHE="${EDGEBENCH_CACHE_DIR:-${HOME:?HOME is not set; set EDGEBENCH_CACHE_DIR}/.cache/edgebench}"
BUILD_DIR=build

args=(-S . -B "$BUILD_DIR"
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
  "-DEDGEBENCH_CACHE_DIR=$CACHE")
# ccache (installed by tools/setup.sh) keeps compiled objects between runs and build trees:
# paths relative to the repository and no build-directory hash, so a fresh clone reuses them.
if command -v ccache >/dev/null 2>&1; then
  args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
fi
# Keep whatever generator an existing build tree was configured with (CMake refuses to switch).
if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
  args+=(-G Ninja)
fi
# Always set the list explicitly, so a previous EDGEBENCH_REQUIRE_ALL=1 run does not stick.
if [[ "${EDGEBENCH_REQUIRE_ALL:-0}" == "1" ]]; then
  args+=("-DEDGEBENCH_REQUIRE_BACKENDS=null;onnxruntime;opencv;libtorch;tflite;armnn")
else
  args+=("-DEDGEBENCH_REQUIRE_BACKENDS=")
fi

echo "[build] cmake ${args[*]} $*"
cmake "${args[@]}" "$@"
echo "[build] cmake --build $BUILD_DIR -j$(nproc)"
cmake --build "$BUILD_DIR" -j"$(nproc)"
