#!/usr/bin/env bash
# edgebench's main job on one machine (the evaluation service, end to end): sets up and builds, starts
# a local server (SQLite, loopback) and a local agent (docker mode when a Docker engine can run
# here: tools/docker-env.sh starts it and a loopback registry, tools/images.sh builds and pushes
# the runtime images; native mode otherwise, with the reason printed), submits the five models of
# the latency matrix's five models on every runtime that can run them (two jobs), prints the latency matrix and
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
CLIENT=(--server "$URL" --token-file "$WORK/server/admin.token")
# run_job FILES... -- RUNTIMES...: one job of every file on every runtime (the dashboard shows its
# latency matrix); each task's result document goes to results/NAME_RUNTIME.json (a failed task
# has one too: its error shows in the report).
run_job() {
  local args=() runtimes=() out id state model runtime has_result
  while [[ "$1" != "--" ]]; do
    if [[ -f "$1" ]]; then
      args+=("$1")
    else
      echo "[demo] missing $1 (tools/setup.sh generates the zoo)" >&2
      failed+=("$(basename "$1")")
    fi
    shift
  done
  shift
  runtimes=("$@")
  [[ ${#args[@]} -gt 0 ]] || return 0
  echo "[demo] job: ${#args[@]} models on ${runtimes[*]}"
  for runtime in "${runtimes[@]}"; do args+=(--runtime "$runtime"); done
  out="$(mktemp "$WORK/job.XXXXXX.json")"
  # One intra-op thread: the runtime keeps one core and leaves the other to the server, the agent
  # and the system, so neither disturbs the other on a 2-core machine. The adaptive stop runs
  # until the median's 95% CI is within +-2% (and the spread and drift rules pass), at most 30 s.
  "$EDGEBENCH" job "${args[@]}" "${CLIENT[@]}" --device local --threads 1 --target-ci 2 \
    --max-duration-ms 30000 --wait --json >"$out" || true
  if [[ ! -s "$out" ]]; then
    failed+=("job of ${runtimes[*]}")
    return 0
  fi
  while read -r id state model runtime has_result; do
    [[ "$state" == "succeeded" ]] || failed+=("${model%%.*}/$runtime")
    if [[ "$has_result" == "true" ]]; then
      "$EDGEBENCH" result "$id" --json "${CLIENT[@]}" >"$WORK/results/${model%%.*}_${runtime}.json"
    fi
  done < <(jq -r '.tasks[] | "\(.id) \(.state) \(.model_name) \(.runtime) \(.has_result)"' "$out")
}
onnx=() torchscript=()
for model in "${MODELS[@]}"; do
  onnx+=("$CACHE/zoo/$model/$model.onnx")
  torchscript+=("$CACHE/zoo/$model/$model.pt")
done
# TFLite (the usual CPU runtime on edge boards) reads .tflite: the server converts the ONNX models
# (edgebench's own converter, docs/convert.md) and the agent runs the result.
run_job "${onnx[@]}" -- onnxruntime opencv tflite
run_job "${torchscript[@]}" -- libtorch

echo
"$EDGEBENCH" report "$WORK"/results/*.json
echo
"$EDGEBENCH" analyze "$WORK"/results/*.json
"$EDGEBENCH" report "$WORK"/results/*.json --format html -o "$WORK/report.html"
valid="$(jq -s 'map(select(.validity.valid)) | length' "$WORK"/results/*.json)"
echo "[demo] $valid of $(ls "$WORK"/results/*.json | wc -l) results valid (the others are marked ! in the tables)"
echo "[demo] result documents: $WORK/results; charts: $WORK/report.html"
# Run from a terminal, the service stays up for a look at the devices, tasks and results in the
# dashboard (EDGEBENCH_DEMO_KEEP=0: stop at once; =1: wait even without a terminal).
if [[ "${EDGEBENCH_DEMO_KEEP:-$([[ -t 0 ]] && echo 1 || echo 0)}" == "1" ]]; then
  echo "[demo] dashboard: open $URL/ and sign in with the token in $WORK/server/admin.token"
  echo "[demo] press Enter to stop the server and the agent"
  read -r || true
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "[demo] FAILED: ${failed[*]}" >&2
  exit 1
fi
