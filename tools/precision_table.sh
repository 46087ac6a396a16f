#!/usr/bin/env bash
# The precision table (fp32/fp16/int8), measured here through the service: starts a local server and a
# native agent, submits each model at fp32, fp16 and int8 to each runtime (the server converts and
# quantizes, docs/convert.md: TFLite files for tflite/armnn, ONNX variants for onnxruntime), and
# prints `edgebench report --table precision` and the latency matrix of the same results.
#
#   bash tools/precision_table.sh                      # mobilenetv1 resnet50 on onnxruntime, tflite
#   PRECISION_RUNTIMES="tflite armnn" bash tools/precision_table.sh mobilenetv1
#
# Needs a build (tools/build.sh) and the zoo (tools/setup.sh). Results stay in
# $EDGEBENCH_PRECISION_DIR (default: a new temporary directory, printed at the end).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/local_service.sh

CACHE="${EDGEBENCH_CACHE_DIR:-${HOME:?HOME is not set; set EDGEBENCH_CACHE_DIR}/.cache/edgebench}"
EDGEBENCH="$PWD/build/src/cli/edgebench"
WORK="${EDGEBENCH_PRECISION_DIR:-$(mktemp -d /tmp/edgebench-precision.XXXXXX)}"
read -r -a RUNTIMES <<<"${PRECISION_RUNTIMES:-onnxruntime tflite}"
MODELS=("$@")
[[ ${#MODELS[@]} -gt 0 ]] || MODELS=(mobilenetv1 resnet50)
[[ -x "$EDGEBENCH" ]] || { echo "precision_table: no $EDGEBENCH (run tools/build.sh)" >&2; exit 1; }
mkdir -p "$WORK/results"

start_local_service "[precision]" native
CLIENT=(--server "$URL" --token-file "$WORK/server/admin.token")

failed=0
submit() {  # submit MODEL RUNTIME PRECISION
  local model="$1" runtime="$2" precision="$3" onnx="$CACHE/zoo/$1/$1.onnx"
  local out="$WORK/results/${model}_${runtime}_${precision}.json"
  echo "[precision] $model on $runtime at $precision" >&2
  if ! "$EDGEBENCH" submit "$onnx" "${CLIENT[@]}" --runtime "$runtime" --device local --precision "$precision" \
    --min-runs 5 --warmup-runs 1 --warmup-min-ms 0 --min-duration-ms 0 --allow-unpinned-governor \
    --wait --json >"$out.tmp"; then
    failed=1
  fi
  if [[ -s "$out.tmp" ]]; then mv "$out.tmp" "$out"; else rm -f "$out.tmp"; fi
}
for model in "${MODELS[@]}"; do
  for runtime in "${RUNTIMES[@]}"; do
    for precision in fp32 fp16 int8; do submit "$model" "$runtime" "$precision"; done
  done
done

shopt -s nullglob
results=("$WORK"/results/*.json)
[[ ${#results[@]} -gt 0 ]] || { echo "precision_table: no results" >&2; exit 1; }
"$EDGEBENCH" report "${results[@]}" --table precision
echo
"$EDGEBENCH" report "${results[@]}"
echo "[precision] results in $WORK/results" >&2
exit "$failed"
