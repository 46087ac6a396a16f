#!/usr/bin/env bash
# Prints how accurate the latency predictor is on architectures it never saw (nothing is
# asserted): kernel models generated from the zoo, the runtime's fusion rules detected, every
# kernel model timed against the reference model (onnxruntime, 1 thread), a predictor trained and
# calibrated on profiles of the zoo's models (how much slower kernels run inside a model); then
# held-out variants of 10 architecture families (tools/zoo/variants.py) timed end to end against
# the same reference (edgebench compare REFERENCE VARIANT: the paired ratio, which a slowdown of
# the whole machine does not move) and predicted:
# share within +-10% and +-5%, RMSE, per family, against the FLOPs-proportional baseline, and
# leave-one-family-out (the family's zoo models' kernels left out of training: --exclude-source).
# Last, how many minutes the measurements took. --opencv does the same for OpenCV DNN as well,
# --only-opencv for OpenCV DNN alone. --adapt-from PREDICTOR (a predictor of another runtime or
# device, e.g. WORK/onnxruntime-medium/predictor.json) adds, per runtime, that predictor adapted
# with at most 100 of this runtime's kernel points (edgebench predictor adapt), evaluated on the
# same variants.
#
# Needs a build (tools/build.sh) and the zoo (tools/setup.sh); Debian's /usr/bin/python3 with
# torch and onnx for the variants. Every step's output stays in WORK_DIR and a step whose output
# exists is skipped, so a run that was cut short continues where it stopped.
#
# Usage: bash bench/predictor_accuracy.sh WORK_DIR [--size small|medium|large] [--opencv | --only-opencv]
#                                         [--adapt-from PREDICTOR]
#   small: 8 kernel models per kernel type (+16 more conv and dwconv), 2 variants per family
#     (about 10-20 minutes)
#   medium: 30 kernel models per kernel type (+60 more conv and dwconv), 4 variants per family
#     (about 40 minutes)
#   large: 60 kernel models per kernel type (+120 more conv and dwconv), 8 variants per family
#     (hours)
# Convolutions take most of a CNN's time and their latency depends on the most fields, so they
# get a second kernel set of their own (another seed), trained on together with the first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
EDGEBENCH=build/src/cli/edgebench
PYTHON=/usr/bin/python3
ZOO="${EDGEBENCH_CACHE_DIR:-$HOME/.cache/edgebench}/zoo"

WORK="${1:?usage: bash bench/predictor_accuracy.sh WORK_DIR [--size small|medium|large] [--opencv]}"
shift
SIZE=small
RUNTIMES=(onnxruntime)
ADAPT_FROM=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) SIZE="${2:?--size needs small or large}"; shift 2 ;;
    --opencv) RUNTIMES+=(opencv); shift ;;
    --only-opencv) RUNTIMES=(opencv); shift ;;
    --adapt-from) ADAPT_FROM="${2:?--adapt-from needs a predictor file}"; shift 2 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
case "$SIZE" in
  small) PER_TYPE=8; CONV_EXTRA=16; PER_FAMILY=2 ;;
  medium) PER_TYPE=30; CONV_EXTRA=60; PER_FAMILY=4 ;;
  large) PER_TYPE=60; CONV_EXTRA=120; PER_FAMILY=8 ;;
  *) echo "--size must be small, medium or large, not $SIZE" >&2; exit 2 ;;
esac
mkdir -p "$WORK"
KERNELS="$WORK/kernels-$SIZE"
CONV_KERNELS="$WORK/kernels-$SIZE-conv"
VARIANTS="$WORK/variants-$SIZE"

seconds_since() { "$PYTHON" -c "import sys, time; print(f'{time.time() - float(sys.argv[1]):.1f}')" "$1"; }

echo "== kernel models: $PER_TYPE per kernel type, sampled around the zoo's kernels"
if [[ ! -f "$KERNELS/kernels.json" ]]; then
  "$EDGEBENCH" kernels generate --out "$KERNELS" --per-type "$PER_TYPE" --seed 1
fi
if [[ ! -f "$CONV_KERNELS/kernels.json" ]]; then
  "$EDGEBENCH" kernels generate --out "$CONV_KERNELS" --types conv,dwconv --per-type "$CONV_EXTRA" --seed 2
fi
for dir in "$KERNELS" "$CONV_KERNELS"; do
  "$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(len(d["kernels"]), "kernel models from", len(d["sources"]), "zoo models")' "$dir/kernels.json"
done

echo
echo "== held-out variants: $PER_FAMILY per family"
if [[ ! -f "$VARIANTS/variants.json" ]]; then
  "$PYTHON" tools/zoo/variants.py --out "$VARIANTS" --per-family "$PER_FAMILY" --seed 1 > "$WORK/variants-$SIZE.log"
fi
"$PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(len(d["variants"]), "variants of", len(d["families"]), "families")' "$VARIANTS/variants.json"

for RUNTIME in "${RUNTIMES[@]}"; do
  OUT="$WORK/$RUNTIME-$SIZE"
  mkdir -p "$OUT/results" "$OUT/leave-out"
  echo
  echo "######## $RUNTIME, 1 thread"
  echo "== fusion rules (profiles of the zoo's models)"
  if [[ ! -f "$OUT/rules.json" ]]; then
    "$EDGEBENCH" kernels detect -r "$RUNTIME" --threads 1 --out "$OUT/rules.json"
  fi

  echo
  echo "== kernel data sets (profiled: the kernel's own time leaves the lone model's layout conversions out)"
  "$EDGEBENCH" kernels measure "$KERNELS" -r "$RUNTIME" --threads 1 --profile --out "$OUT/kernels.json" --resume -q
  "$EDGEBENCH" kernels measure "$CONV_KERNELS" -r "$RUNTIME" --threads 1 --profile --out "$OUT/kernels-conv.json" --resume -q
  DATA_SETS=("$OUT/kernels.json" "$OUT/kernels-conv.json")

  echo
  echo "== the zoo's models profiled whole, and timed against the reference model (the calibration: how"
  echo "   much slower kernels run inside a model; the profile splits the time the comparison gives)"
  mkdir -p "$OUT/zoo" "$OUT/zoo-ratios"
  [[ -f "$OUT/reference.onnx" ]] || "$EDGEBENCH" kernels reference "$OUT/reference.onnx" > /dev/null
  for model in "$ZOO"/*/*.onnx; do
    name=$(basename "$model" .onnx)
    [[ "$name" == tinycnn* ]] && continue
    [[ -f "$OUT/zoo/$name.json" ]] ||
      "$EDGEBENCH" bench "$model" -r "$RUNTIME" --threads 1 --profile -q --json "$OUT/zoo/$name.json" > /dev/null
    [[ -f "$OUT/zoo-ratios/$name.json" ]] ||
      "$EDGEBENCH" compare "$OUT/reference.onnx" "$model" -r "$RUNTIME" --threads 1 -q \
        --json "$OUT/zoo-ratios/$name.json" > /dev/null
  done

  echo
  echo "== predictor"
  if [[ ! -f "$OUT/predictor.json" ]]; then
    "$EDGEBENCH" predictor train "${DATA_SETS[@]}" --rules "$OUT/rules.json" --out "$OUT/predictor.json" --seed 1
  fi
  # Fails (and the calibrated figures are left out) when no zoo profile came out valid.
  "$EDGEBENCH" predictor calibrate "$OUT/predictor.json" --results "$OUT"/zoo/*.json "$OUT"/zoo-ratios/*.json \
    --out "$OUT/calibrated.json" || rm -f "$OUT/calibrated.json"

  echo
  echo "== variants timed end to end against the reference model"
  start=$(date +%s.%N)
  measured=0
  for model in "$VARIANTS"/*.onnx; do
    result="$OUT/results/$(basename "$model" .onnx).json"
    [[ -f "$result" ]] && continue
    "$EDGEBENCH" compare "$OUT/reference.onnx" "$model" -r "$RUNTIME" --threads 1 -q --json "$result" > /dev/null
    measured=$((measured + 1))
  done
  echo "$measured variants measured in $(seconds_since "$start") s (the others were measured before)"
  "$PYTHON" - "$OUT/results" <<'PY'
import glob, json, sys
rows = [json.load(open(p)) for p in sorted(glob.glob(sys.argv[1] + "/*.json"))]
ratios = [r["ratios"][1]["median"] for r in rows]
medians = [r["variants"][1]["result"]["latency_ms"]["p50"] for r in rows]
invalid = sum(not r["validity"]["valid"] for r in rows)
print(f"{len(rows)} comparisons, {min(ratios):.2f} - {max(ratios):.2f} x the reference "
      f"({min(medians):.2f} - {max(medians):.2f} ms as timed), {invalid} INVALID")
PY

  echo
  echo "== accuracy on the held-out variants (within +-10%, +-5%, RMSE; per family; FLOPs baseline)"
  "$EDGEBENCH" predictor evaluate "$OUT/predictor.json" --results "$OUT"/results/*.json \
    --families "$VARIANTS/variants.json" --flops-baseline --html "$OUT/evaluate.html"
  "$EDGEBENCH" predictor evaluate "$OUT/predictor.json" --results "$OUT"/results/*.json \
    --families "$VARIANTS/variants.json" --flops-baseline --json > "$OUT/evaluate.json"
  if [[ -f "$OUT/calibrated.json" ]]; then
    echo "-- the same predictor calibrated on the zoo's profiles"
    "$EDGEBENCH" predictor evaluate "$OUT/calibrated.json" --results "$OUT"/results/*.json \
      --families "$VARIANTS/variants.json" --html "$OUT/evaluate-calibrated.html" | sed -n '/^accuracy/,/^$/p'
  fi

  if [[ -n "$ADAPT_FROM" ]]; then
    echo
    echo "== adapted: $ADAPT_FROM with at most 100 of this runtime's kernel points"
    if [[ ! -f "$OUT/adapted.predictor.json" ]]; then
      "$EDGEBENCH" predictor adapt "$ADAPT_FROM" "${DATA_SETS[@]}" --rules "$OUT/rules.json" --max-points 100 \
        --seed 1 --out "$OUT/adapted.predictor.json" > /dev/null
    fi
    "$EDGEBENCH" predictor evaluate "$OUT/adapted.predictor.json" --results "$OUT"/results/*.json \
      --families "$VARIANTS/variants.json" | sed -n '/^accuracy/,/^$/p'
  fi

  echo
  echo "== leave one family out: retrained without the family's zoo models (and calibrated without them)"
  for family in $("$PYTHON" -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["families"]))' "$VARIANTS/variants.json"); do
    sources=$("$PYTHON" -c 'import json, sys; print(",".join(json.load(open(sys.argv[1]))["families"][sys.argv[2]]["zoo_models"]))' "$VARIANTS/variants.json" "$family")
    predictor="$OUT/leave-out/$family.predictor.json"
    if [[ ! -f "$predictor.uncalibrated" ]]; then
      "$EDGEBENCH" predictor train "${DATA_SETS[@]}" --rules "$OUT/rules.json" --out "$predictor.uncalibrated" \
        --seed 1 --exclude-source "$sources" > /dev/null
      profiles=()
      for result in "$OUT"/zoo/*.json "$OUT"/zoo-ratios/*.json; do
        [[ ",$sources," == *",$(basename "$result" .json),"* ]] || profiles+=("$result")
      done
      "$EDGEBENCH" predictor calibrate "$predictor.uncalibrated" --results "${profiles[@]}" --out "$predictor" \
        > /dev/null || true
    fi
    echo "-- $family (without $sources)"
    "$EDGEBENCH" predictor evaluate "$predictor.uncalibrated" --results "$OUT"/results/"$family"_*.json \
      --families "$VARIANTS/variants.json" --flops-baseline
    if [[ -f "$predictor" ]]; then
      echo "-- $family, calibrated"
      "$EDGEBENCH" predictor evaluate "$predictor" --results "$OUT"/results/"$family"_*.json \
        --families "$VARIANTS/variants.json" | sed -n '/^accuracy/,/^$/p'
    fi
  done

  echo
  echo "== measurement time"
  "$PYTHON" - "$OUT/results" "${DATA_SETS[@]}" <<'PY'
import glob, json, sys
data_sets = [json.load(open(path)) for path in sys.argv[2:]]
data_set = data_sets[0]
points = [p for d in data_sets for p in d["points"]]
valid = sum(p["valid"] for p in points)
kernels_min = sum(d["provenance"]["measure_seconds"] for d in data_sets) / 60
comparisons = [json.load(open(p)) for p in glob.glob(sys.argv[1] + "/*.json")]
# A comparison's own time: each variant's load, first inference and warm-up, and the rounds.
variants_min = sum(c["measure_ms"] + sum(v["result"]["load_ms"] + v["result"]["first_inference_ms"] +
                                         v["result"]["warmup"]["ms"] for v in c["variants"])
                   for c in comparisons) / 60000
print(f"kernel data set: {len(points)} kernel models ({valid} valid, {len(points) - valid} INVALID or failed, "
      f"kept out of training), overhead {data_set['overhead_ms']:.4f} ms: {kernels_min:.1f} minutes")
print(f"held-out variants: {len(comparisons)} models end to end, against the reference: {variants_min:.1f} minutes")
PY
done
