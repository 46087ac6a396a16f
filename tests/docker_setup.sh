#!/usr/bin/env bash
# The Docker side of tests/docker_test.cc, made once per CTest run (a fixture): starts dockerd and
# the loopback registry (tools/docker-env.sh) and builds the null and onnxruntime images from the
# binary under test (tools/images.sh). Writes OUT: the 'image RUNTIME/ARCH=REFERENCE' lines, or
# one line 'skip REASON' when Docker cannot be had here. Exits 0 either way (the tests skip with
# the reason); exits 2 on bad usage.
#   tests/docker_setup.sh OUT EDGEBENCH_BINARY
set -uo pipefail
[[ $# -eq 2 ]] || { echo "usage: tests/docker_setup.sh OUT EDGEBENCH_BINARY" >&2; exit 2; }
out="$1" binary="$2"
tools="$(dirname "${BASH_SOURCE[0]}")/../tools"
tmp="$out.tmp$$"
if ! env_err="$(bash "$tools/docker-env.sh" start 2>&1 >/dev/null)"; then
  echo "skip no Docker engine and registry: $(tail -n1 <<<"$env_err")" >"$tmp"
elif ! bash "$tools/images.sh" --binary "$binary" --runtimes null,onnxruntime >"$tmp" 2>"$tmp.err"; then
  echo "skip tools/images.sh failed: $(tail -n1 "$tmp.err")" >"$tmp"
fi
rm -f "$tmp.err"
mv "$tmp" "$out"
cat "$out"
