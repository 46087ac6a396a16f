#!/usr/bin/env bash
# edgebench's main job on one machine (the evaluation service, end to end): sets up and builds, starts
# a local server (SQLite, loopback) and a local agent (docker mode when a Docker engine can run
# here: tools/docker-env.sh starts it and a loopback registry, tools/images.sh builds and pushes
# the runtime images; native mode otherwise, with the reason printed), submits the five models of
# the latency matrix's five models on every runtime that can run them, prints the latency matrix and
# the FLOPs-vs-latency analysis (TFLite on models converted by edgebench convert), writes an HTML report with charts, and stops what it started.
# Arguments are passed to tools/setup.sh (e.g. --no-apt). Results stay in $EDGEBENCH_DEMO_DIR
# (default: a new temporary directory, printed at the end).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
source tools/local_service.sh

CACHE="${EDGEBENCH_CACHE_DIR:-${HOME:?HOME is not set; set EDGEBENCH_CACHE_DIR}/.cache/edgebench}"
EDGEBENCH="$PWD/build/src/cli/edgebench"
WORK="${EDGEBENCH_DEMO_DIR:-$(mktemp -d /tmp/edgebench-demo.XXXXXX)}"
MODELS=(mobilenetv1 mobilenetv2 resnet50 efficientnetb0 densenet201)

bash tools/setup.sh "$@"
bash tools/build.sh

mkdir -p "$WORK/results"
"$EDGEBENCH" runtimes

# Docker mode when the engine, the registry and the images can be had; native otherwise.
MODE=native
IMAGE_ARGS=()
if docker_env="$(bash tools/docker-env.sh start 2>&1)"; then
  if images="$(bash tools/images.sh 2>"$WORK/images.log")"; then
    MODE=docker
    while read -r _ ref; do IMAGE_ARGS+=(--image "$ref"); done <<<"$images"
    echo "[demo] docker mode: $(tr '\n' ' ' <<<"$docker_env")with $((${#IMAGE_ARGS[@]} / 2)) runtime image(s)"
  else
    echo "[demo] native mode: tools/images.sh failed: $(tail -n1 "$WORK/images.log")"
  fi
else
  echo "[demo] native mode: $(tail -n1 <<<"$docker_env")"
fi

# An INVALID result (a noisy moment on a shared machine) is measured again, up to twice; every
# attempt's document stays on the server (edgebench result ID --attempts).
start_local_service "[demo]" "$MODE" --repeat-invalid 2 "${IMAGE_ARGS[@]}"

failed=()
submit() {  # submit MODEL_FILE RUNTIME
  local model="$1" runtime="$2" name
  name="$(basename "${model%.*}")"
  if [[ ! -f "$model" ]]; then
    echo "[demo] missing $model (tools/setup.sh generates the zoo)" >&2
    failed+=("$name/$runtime")
    return 0
  fi
  echo "[demo] $name on $runtime"
  local out="$WORK/results/${name}_${runtime}.json"
  # One intra-op thread: the runtime keeps one core and leaves the other to the server, the agent
  # and the system, so neither disturbs the other on a 2-core machine. The adaptive stop runs
  # until the median's 95% CI is within +-2% (and the spread and drift rules pass), at most 30 s.
  if ! "$EDGEBENCH" submit "$model" --server "$URL" --token-file "$WORK/server/admin.token" \
    --runtime "$runtime" --device local --threads 1 --target-ci 2 --max-duration-ms 30000 \
    --wait --json >"$out.tmp"; then
    failed+=("$name/$runtime")
  fi
  # A failed task still has a result document (its error shows in the report); a refused
  # submit has none and leaves no file.
  if [[ -s "$out.tmp" ]]; then mv "$out.tmp" "$out"; else rm -f "$out.tmp"; fi
}
for model in "${MODELS[@]}"; do
  submit "$CACHE/zoo/$model/$model.onnx" onnxruntime
  submit "$CACHE/zoo/$model/$model.onnx" opencv
  submit "$CACHE/zoo/$model/$model.pt" libtorch
  # TFLite (the usual CPU runtime on edge boards) reads .tflite: the server converts the ONNX model
  # (edgebench's own converter, docs/convert.md) and the agent runs the result.
  submit "$CACHE/zoo/$model/$model.onnx" tflite
done

echo
"$EDGEBENCH" report "$WORK"/results/*.json
echo
"$EDGEBENCH" analyze "$WORK"/results/*.json
"$EDGEBENCH" report "$WORK"/results/*.json --format html -o "$WORK/report.html"
valid="$(jq -s 'map(select(.validity.valid)) | length' "$WORK"/results/*.json)"
echo "[demo] $valid of $(ls "$WORK"/results/*.json | wc -l) results valid (the others are marked ! in the tables)"
echo "[demo] result documents: $WORK/results; charts: $WORK/report.html"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "[demo] FAILED: ${failed[*]}" >&2
  exit 1
fi
