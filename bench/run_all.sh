#!/usr/bin/env bash
# Prints edgebench's own benchmark figures (nothing is asserted). Needs a build (tools/build.sh)
# and the zoo (tools/setup.sh). Usage: bash bench/run_all.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE="${EDGEBENCH_CACHE_DIR:-$HOME/.cache/edgebench}"
EDGEBENCH=build/src/cli/edgebench
MODEL="$CACHE/zoo/mobilenetv2/mobilenetv2.onnx"

echo "== process start-up: commands that need no runtime beside one that loads every plugin"
# EDGEBENCH_BASELINE=/path/to/an/older/edgebench adds it, interleaved run by run, with ratios.
build/bench/bench_startup --binary "$EDGEBENCH" ${EDGEBENCH_BASELINE:+--baseline "$EDGEBENCH_BASELINE"}

echo
echo "== harness overhead (null backend)"
build/bench/bench_harness_overhead

echo
echo "== fidelity: edgebench vs a bare ONNX Runtime loop, MobileNetV2"
build/bench/bench_fidelity_onnxruntime "$MODEL" 10 30

median() {  # median of a result document
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["latency_ms"]["p50"])' "$1"
}

echo
echo "== repeatability: five back-to-back 'edgebench bench' runs, MobileNetV2, onnxruntime, 1 thread"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
medians=()
for i in 1 2 3 4 5; do
  "$EDGEBENCH" bench "$MODEL" -r onnxruntime -t 1 -q --json "$tmp/r$i.json" > /dev/null
  medians+=("$(median "$tmp/r$i.json")")
done
/usr/bin/python3 - "${medians[@]}" <<'PY'
import statistics, sys
m = [float(x) for x in sys.argv[1:]]
print("medians (ms):", ", ".join(f"{x:.3f}" for x in m))
print(f"spread (max-min)/median: {100 * (max(m) - min(m)) / statistics.median(m):.2f}%")
PY

echo
echo "== time to a trustworthy figure, MobileNetV2, onnxruntime, 1 thread"
wall() {  # wall seconds of a command
  local start end
  start=$(date +%s.%N); "$@" > /dev/null; end=$(date +%s.%N)
  /usr/bin/python3 -c "print(f'{$end - $start:.2f}')"
}
adaptive=$(wall "$EDGEBENCH" bench "$MODEL" -r onnxruntime -t 1 -q --target-ci 1 --json "$tmp/adaptive.json")
# TFLite benchmark_model defaults: warm-up 1 run and 0.5 s, then 50 runs and at least 1 s.
fixed=$(wall "$EDGEBENCH" bench "$MODEL" -r onnxruntime -t 1 -q --warmup-runs 1 --warmup-min-ms 500 \
  --min-runs 50 --min-duration-ms 1000 --json "$tmp/fixed.json")
/usr/bin/python3 - "$tmp/adaptive.json" "$tmp/fixed.json" "$adaptive" "$fixed" <<'PY'
import json, sys
a, f = (json.load(open(p)) for p in sys.argv[1:3])
def ci(d):
    lo, hi = d["latency_ms"]["median_ci95"]; m = d["latency_ms"]["p50"]
    return 100 * max(m - lo, hi - m) / m
print(f"--target-ci 1: {sys.argv[3]} s wall, {a['runs']} runs, median {a['latency_ms']['p50']:.3f} ms "
      f"+/-{ci(a):.2f}%, stop: {a['stop_reason']} (goal: <= 3 s)")
print(f"TFLite-style defaults: {sys.argv[4]} s wall, {f['runs']} runs, median {f['latency_ms']['p50']:.3f} ms "
      f"+/-{ci(f):.2f}%")
PY

echo
echo "== comparisons: five 'edgebench compare' runs beside separate bench runs (bench/compare_stability.sh)"
bash bench/compare_stability.sh 5

echo
echo "== the evaluation service: dispatch overhead and 1,000 simulated agents (bench/service_dispatch.cc)"
# Docker mode too when an engine and registry can run here (tools/docker-env.sh, tools/images.sh).
image_args=()
if bash tools/docker-env.sh start > /dev/null 2>&1; then
  image="$(bash tools/images.sh --runtimes null 2>/dev/null | sed -n 's/^image //p' | head -n1)"
  [[ -n "$image" ]] && image_args=(--image "$image")
fi
[[ ${#image_args[@]} -eq 0 ]] && echo "(no Docker engine here: native dispatch only)"
build/bench/bench_service_dispatch --binary "$EDGEBENCH" --model "$CACHE/zoo/tinycnn/tinycnn.onnx" "${image_args[@]}"

echo
echo "== the evaluation service under 200 clients at once, POST/GET /v1/tasks (bench/service_load.cc)"
build/bench/bench_service_load --binary "$EDGEBENCH" --model "$CACHE/zoo/tinycnn/tinycnn.onnx" --clients 200 --requests 20
