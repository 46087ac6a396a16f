#!/usr/bin/env bash
# Paper D's precision comparison, measured here through the service: starts a local server and a
# native agent, submits each model at fp32, fp16 and int8 to each runtime (the server converts and
# quantizes, docs/convert.md: TFLite files for tflite/armnn, ONNX variants for onnxruntime), and
# prints `edgebench report --table precision` and the Table 2 layout of the same results.
#
#   bash tools/precision_table.sh                      # mobilenetv1 resnet50 on onnxruntime, tflite
#   PRECISION_RUNTIMES="tflite armnn" bash tools/precision_table.sh mobilenetv1
#
# Needs a build (tools/build.sh) and the zoo (tools/setup.sh). Results stay in
# $EDGEBENCH_PRECISION_DIR (default: a new temporary directory, printed at the end).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CACHE="${EDGEBENCH_CACHE_DIR:-${HOME:?HOME is not set; set EDGEBENCH_CACHE_DIR}/.cache/edgebench}"
EDGEBENCH="$PWD/build/src/cli/edgebench"
WORK="${EDGEBENCH_PRECISION_DIR:-$(mktemp -d /tmp/edgebench-precision.XXXXXX)}"
read -r -a RUNTIMES <<<"${PRECISION_RUNTIMES:-onnxruntime tflite}"
MODELS=("$@")
[[ ${#MODELS[@]} -gt 0 ]] || MODELS=(mobilenetv1 resnet50)
[[ -x "$EDGEBENCH" ]] || { echo "precision_table: no $EDGEBENCH (run tools/build.sh)" >&2; exit 1; }
mkdir -p "$WORK/results"

coproc SERVER { exec "$EDGEBENCH" server --listen 127.0.0.1:0 --data "$WORK/server" 2>"$WORK/server.log"; }
SERVER_PID=$SERVER_PID
AGENT_PID=
cleanup() {
  [[ -n "$AGENT_PID" ]] && kill "$AGENT_PID" 2>/dev/null || true
  kill "$SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
read -r first_line <&"${SERVER[0]}" || { echo "precision_table: the server did not start: $(tail -n1 "$WORK/server.log")" >&2; exit 1; }
URL="${first_line##* }"
CLIENT=(--server "$URL" --token-file "$WORK/server/admin.token")

"$EDGEBENCH" agent --server "$URL" --name local --token-file "$WORK/server/agent.token" --mode native \
  2>"$WORK/agent.log" &
AGENT_PID=$!
# Tasks are refused until the agent has registered: wait for it to be listed, bounded.
for ((i = 0; ; i++)); do
  if "$EDGEBENCH" devices --json "${CLIENT[@]}" 2>/dev/null | jq -e 'any(.[]; .name == "local")' >/dev/null; then
    break
  fi
  if ! kill -0 "$AGENT_PID" 2>/dev/null || ((i >= 240)); then
    echo "precision_table: the agent did not register: $(tail -n1 "$WORK/agent.log")" >&2
    exit 1
  fi
  sleep 0.5
done

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
