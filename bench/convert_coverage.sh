#!/usr/bin/env bash
# Conversion coverage: `edgebench convert --to tflite` over the ONNX conformance suite's
# pytorch-converted, pytorch-operator and simple models (Debian libonnx-testdata) whose inputs and
# outputs are all float32, each on its own test inputs (test_data_set_0/input_N.pb) with the
# suite's expected outputs (output_N.pb) as the fallback reference. Prints one line per model and
# the count: converted and verified (max_rel_error within the tolerance), verified but off
# tolerance, converted but unverified (and why), refused (by reason), failed.
#
#   bash bench/convert_coverage.sh            # uses build/src/cli/edgebench
# Environment: EDGEBENCH (binary), ONNX_TESTDATA (suite root), TOLERANCE (max_rel_error, 1e-3).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
EDGEBENCH="${EDGEBENCH:-build/src/cli/edgebench}"
DATA="${ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}"
TOLERANCE="${TOLERANCE:-1e-3}"
[[ -x "$EDGEBENCH" ]] || { echo "convert_coverage: no binary at $EDGEBENCH (build first, or set EDGEBENCH)" >&2; exit 2; }
[[ -d "$DATA" ]] || { echo "convert_coverage: no conformance suite at $DATA (Debian libonnx-testdata)" >&2; exit 2; }
expected_flag=0
"$EDGEBENCH" convert --help 2>/dev/null | grep -q -- '--expected' && expected_flag=1

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
total=0 verified=0 off=0 unverified=0 refused=0 failed=0 excluded=0
declare -A refused_by by_reference
refused_lines=() unverified_lines=() off_lines=() failed_lines=()
for model in "$DATA"/{pytorch-converted,pytorch-operator,simple}/*/model.onnx; do
  dir="$(dirname "$model")"
  name="$(basename "$(dirname "$dir")")/$(basename "$dir")"
  set0="$dir/test_data_set_0"
  if ! info="$("$EDGEBENCH" inspect "$model" --json 2>/dev/null)" ||
     [[ "$(jq '([.inputs[], .outputs[]] | all(.type == "float32")) and (.inputs | length > 0)' <<<"$info")" != true ]]; then
    excluded=$((excluded + 1))
    continue
  fi
  args=()
  mapfile -t inputs < <(jq -r '.inputs[].name' <<<"$info")
  mapfile -t outputs < <(jq -r '.outputs[].name' <<<"$info")
  for i in "${!inputs[@]}"; do args+=(--samples "${inputs[$i]}=$set0/input_$i.pb"); done
  if ((expected_flag)); then
    for i in "${!outputs[@]}"; do args+=(--expected "${outputs[$i]}=$set0/output_$i.pb"); done
  fi
  total=$((total + 1))
  "$EDGEBENCH" convert "$model" --to tflite -o "$work/m.tflite" --json "${args[@]}" >"$work/out.json" 2>"$work/err"
  rc=$?
  if ((rc == 0)); then
    read -r is_verified rel reference reason < <(jq -r '[(.verified // (.accuracy != null)), (.accuracy.max_rel_error // "-"),
        ((.accuracy.reference_runtime // "-") | gsub(" "; "_")), (.unverified_reason // "accuracy check skipped")] | @tsv' "$work/out.json")
    if [[ "$is_verified" != true ]]; then
      unverified=$((unverified + 1)); unverified_lines+=("$name: $reason")
    elif awk -v r="$rel" -v t="$TOLERANCE" 'BEGIN { exit !(r <= t) }'; then
      verified=$((verified + 1)); by_reference["$reference"]=$((${by_reference["$reference"]:-0} + 1)); printf '%-60s verified against %s, max_rel_error %s\n' "$name" "$reference" "$rel"
    else
      off=$((off + 1)); off_lines+=("$name: max_rel_error $rel against $reference")
    fi
  elif ((rc == 2)) && jq -e '.unsupported | length > 0' "$work/out.json" >/dev/null 2>&1; then
    refused=$((refused + 1))
    reason="$(jq -r '.unsupported[0] | "\(.op_type): \(.reason)"' "$work/out.json")"
    reason="${reason:-unknown}"
    refused_by["$reason"]+=" $(basename "$dir")"
  else
    failed=$((failed + 1)); failed_lines+=("$name: exit $rc: $(tail -1 "$work/err")")
  fi
done
for line in "${off_lines[@]}"; do echo "OFF TOLERANCE  $line"; done
for line in "${unverified_lines[@]}"; do echo "UNVERIFIED     $line"; done
for line in "${failed_lines[@]}"; do echo "FAILED         $line"; done
for reason in "${!refused_by[@]}"; do
  models=(${refused_by[$reason]})
  echo "REFUSED (${#models[@]}) $reason:${refused_by[$reason]}"
done | sort -t'(' -k2 -rn
echo
echo "float conformance models: $total (excluded, not all-float32 or not readable: $excluded)"
references=""
for reference in "${!by_reference[@]}"; do references+="${references:+, }$reference ${by_reference[$reference]}"; done
echo "converted and verified (max_rel_error <= $TOLERANCE): $verified of $total (reference: ${references:-none})"
echo "verified but off tolerance: $off; converted but unverified: $unverified; refused: $refused; failed: $failed"
