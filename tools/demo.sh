#!/usr/bin/env bash
# edgebench demo: sets up and builds, lists the runtimes, then benchmarks MobileNetV2 on
# ONNX Runtime, OpenCV DNN and LibTorch, and MediaPipe face detection on TensorFlow Lite.
# Arguments are passed to tools/setup.sh (e.g. --no-apt).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CACHE="${EDGEBENCH_CACHE_DIR:-${HOME:?HOME is not set; set EDGEBENCH_CACHE_DIR}/.cache/edgebench}"
EDGEBENCH=build/src/cli/edgebench

bash tools/setup.sh "$@"
bash tools/build.sh

if [[ ! -x "$EDGEBENCH" ]]; then
  echo "[demo] ERROR: $EDGEBENCH was not built" >&2
  exit 1
fi

run() {
  echo
  echo "[demo] \$ $*"
  "$@"
}

failed=()
missing=()

run "$EDGEBENCH" runtimes || failed+=("runtimes")
# bench MODEL RUNTIME
bench() {
  local model="$1" runtime="$2"
  if [[ ! -f "$model" ]]; then
    echo
    echo "[demo] skipping $runtime: model file $model does not exist" >&2
    missing+=("$model")
    return 0
  fi
  run "$EDGEBENCH" bench "$model" --runtime "$runtime" || failed+=("$runtime ($model)")
}

bench "$CACHE/zoo/mobilenetv2/mobilenetv2.onnx" onnxruntime
bench "$CACHE/zoo/mobilenetv2/mobilenetv2.onnx" opencv
bench "$CACHE/zoo/mobilenetv2/mobilenetv2.pt" libtorch
bench "$CACHE/models/face_detection_short_range.tflite" tflite

echo
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "[demo] missing model files (run tools/setup.sh; the zoo comes from tools/zoo/zoo.py):" >&2
  printf '[demo]   %s\n' "${missing[@]}" | sort -u >&2
fi
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "[demo] FAILED: ${failed[*]}" >&2
  exit 1
fi
if [[ ${#missing[@]} -gt 0 ]]; then
  exit 1
fi
echo "[demo] done"
