#!/usr/bin/env bash
# Prints how stable a comparison of two models is (nothing is asserted): five back-to-back
# `edgebench compare` runs of MobileNetV2 vs EfficientNetB0 on onnxruntime, 1 thread, each
# beside the ratio of two separate `edgebench bench` runs made right after it; and the time
# `compare --target-ci 1` takes to get the ratio within +-1%.
# Needs a build (tools/build.sh) and the zoo (tools/setup.sh). Usage: bash bench/compare_stability.sh [RUNS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE="${EDGEBENCH_CACHE_DIR:-$HOME/.cache/edgebench}"
EDGEBENCH=build/src/cli/edgebench
A="$CACHE/zoo/mobilenetv2/mobilenetv2.onnx"
B="$CACHE/zoo/efficientnetb0/efficientnetb0.onnx"
RUNS="${1:-5}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for i in $(seq "$RUNS"); do
  start=$(date +%s.%N)
  "$EDGEBENCH" compare "$A" "$B" -r onnxruntime --threads 1 --target-ci 1 -q --json "$tmp/c$i.json" > /dev/null
  end=$(date +%s.%N)
  /usr/bin/python3 -c "print($end - $start)" > "$tmp/c$i.wall"
  "$EDGEBENCH" bench "$A" -r onnxruntime -t 1 -q --json "$tmp/a$i.json" > /dev/null
  "$EDGEBENCH" bench "$B" -r onnxruntime -t 1 -q --json "$tmp/b$i.json" > /dev/null
done

/usr/bin/python3 - "$tmp" "$RUNS" <<'PY'
import json, statistics, sys
tmp, runs = sys.argv[1], int(sys.argv[2])
load = lambda p: json.load(open(p))
rows, compared, separate = [], [], []
for i in range(1, runs + 1):
    c = load(f"{tmp}/c{i}.json")
    r = c["ratios"][1]
    a, b = load(f"{tmp}/a{i}.json"), load(f"{tmp}/b{i}.json")
    s = b["latency_ms"]["p50"] / a["latency_ms"]["p50"]
    compared.append(r["median"]); separate.append(s)
    wall = float(open(f"{tmp}/c{i}.wall").read())
    verdict = "VALID" if c["validity"]["valid"] else "INVALID"
    rows.append(f"{i}  {r['median']:.4f} [{r['ci95'][0]:.4f}, {r['ci95'][1]:.4f}] {c['rounds']:4d} rounds "
                f"{c['measure_ms'] / 1000:5.1f} s timed, {wall:5.1f} s wall, {c['stop_reason']:17s} {verdict:7s} | "
                f"separate benches {s:.4f} ({'VALID' if a['validity']['valid'] else 'INVALID'}, "
                f"{'VALID' if b['validity']['valid'] else 'INVALID'})")
spread = lambda v: 100 * (max(v) - min(v)) / statistics.median(v)
print("run  compare ratio EfficientNetB0/MobileNetV2 [95% CI], rounds, time | two separate bench runs' ratio")
print("\n".join(rows))
print(f"spread (max-min)/median of {runs} compare ratios: {spread(compared):.2f}% (goal: within 2%)")
print(f"spread of {runs} ratios of separate bench runs:  {spread(separate):.2f}%")
walls = [float(open(f"{tmp}/c{i}.wall").read()) for i in range(1, runs + 1)]
print(f"time to a ratio within +-1% (--target-ci 1): median {statistics.median(walls):.1f} s wall "
      f"(goal: under 10 s)")
PY
