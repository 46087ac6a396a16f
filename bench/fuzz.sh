#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang-14 with ASan and UBSan, in build-fuzz/) and runs each
# for a number of executions or seconds, starting from its seed corpus; prints per target the
# executions, crashes and time. Exits non-zero when a target crashes, naming the reproducer.
#
#   bash bench/fuzz.sh [--runs N | --seconds S] [--seed N] [TARGET...]   (--seed: the same mutations each run)
#
# Targets (default: all): onnx_inspect_fuzzer tflite_check_fuzzer convert_fuzzer
# result_document_fuzzer request_fuzzer. Default: --runs 10000. A reproducer reruns with
# build-fuzz/fuzz/TARGET PATH. Seeds: fuzz/corpus/TARGET (committed), tests/data/malformed, the
# zoo's small models (EDGEBENCH_CACHE_DIR/zoo) and /usr/share/libonnx-testdata; the corpus each
# run grows is kept in build-fuzz/corpus/TARGET. docs/fuzzing.md has the figures.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs=10000
seconds=""
seed=""
all_targets=(onnx_inspect_fuzzer tflite_check_fuzzer convert_fuzzer result_document_fuzzer request_fuzzer)
targets=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; seconds=""; shift 2 ;;
    --seconds) seconds="$2"; runs=""; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *)
      if [[ ! " ${all_targets[*]} " == *" $1 "* ]]; then
        echo "fuzz.sh: unknown target $1 (known: ${all_targets[*]})" >&2; exit 2
      fi
      targets+=("$1"); shift ;;
  esac
done
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

CACHE="${EDGEBENCH_CACHE_DIR:-${HOME:?HOME is not set; set EDGEBENCH_CACHE_DIR}/.cache/edgebench}"
BUILD_DIR=build-fuzz
# build.ninja, not CMakeCache.txt: a configure that failed halfway is run again.
if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
  # -O1 with line tables: fast enough to fuzz, quicker to compile than -O2 -g, readable traces.
  args=(-S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only"
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
    -DEDGEBENCH_BUILD_FUZZERS=ON -DEDGEBENCH_BUILD_TESTS=OFF -DEDGEBENCH_BUILD_BENCH=OFF
    "-DEDGEBENCH_CACHE_DIR=$CACHE")
  for backend in NULL ONNXRUNTIME OPENCV LIBTORCH TFLITE ARMNN TENSORRT; do
    args+=("-DEDGEBENCH_BACKEND_$backend=OFF")
  done
  if command -v ccache >/dev/null 2>&1; then
    args+=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  echo "[fuzz] cmake ${args[*]}"
  cmake "${args[@]}" >/dev/null
fi
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
echo "[fuzz] building ${targets[*]}"
cmake --build "$BUILD_DIR" -j"$(nproc)" --target "${targets[@]}"

# Seed files for a target, one path a line: small inputs only (large ones slow every mutation).
seeds() {
  local max_bytes=262144
  case "$1" in
    onnx_inspect_fuzzer|convert_fuzzer)
      find "$CACHE/zoo" /usr/share/libonnx-testdata/data/node /usr/share/libonnx-testdata/data/simple \
        tests/data/malformed -name '*.onnx' -size -"${max_bytes}"c 2>/dev/null ;;
    tflite_check_fuzzer)
      find "$CACHE/models" tests/data/malformed -name '*.tflite' -size -"${max_bytes}"c 2>/dev/null ;;
  esac
  [[ -d "fuzz/corpus/$1" ]] && find "fuzz/corpus/$1" -type f
  return 0
}

status=0
summary=""
for target in "${targets[@]}"; do
  corpus="$BUILD_DIR/corpus/$target"
  seed_dir="$BUILD_DIR/seeds/$target"
  crashes="$BUILD_DIR/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  rm -rf "$seed_dir" && mkdir -p "$seed_dir"
  # One copy per seed, named by content, so seeds with the same file name do not collide.
  while IFS= read -r file; do
    cp "$file" "$seed_dir/$(sha1sum "$file" | cut -c1-16)"
  done < <(seeds "$target")
  limit=(-runs="$runs")
  [[ -n "$seconds" ]] && limit=(-max_total_time="$seconds")
  [[ -n "$seed" ]] && limit+=(-seed="$seed")  # the same mutations on every run (CI's smoke)
  log="$BUILD_DIR/fuzz-$target.log"
  echo "[fuzz] $target: $(ls "$seed_dir" | wc -l) seeds, ${runs:+$runs runs}${seconds:+$seconds s}"
  started=$(date +%s)
  rc=0
  ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$BUILD_DIR/fuzz/$target" "${limit[@]}" -max_len=262144 -rss_limit_mb=4096 -timeout=60 \
      -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" "$seed_dir" >"$log" 2>&1 || rc=$?
  elapsed=$(( $(date +%s) - started ))
  executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
  crashed=0
  if [[ $rc -ne 0 ]]; then
    crashed=1
    status=1
    echo "[fuzz] $target FAILED (exit $rc): reproducer ${reproducer:-none written}; log $log"
    grep -m5 -E "ERROR: |runtime error|SUMMARY" "$log" || tail -5 "$log"
  fi
  line=$(printf '%-24s executions %10s  crashes %d  time %5d s' "$target" "${executions:-?}" "$crashed" "$elapsed")
  [[ $crashed -eq 1 ]] && line+="  reproducer ${reproducer:-none}"
  summary+="$line"$'\n'
done
echo "[fuzz] results"
printf '%s' "$summary"
exit "$status"
