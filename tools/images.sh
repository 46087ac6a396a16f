#!/usr/bin/env bash
# Builds edgebench's runtime images for this machine's architecture from a local edgebench build
# and pushes them to a registry, without any public image registry:
#   1. a base root filesystem = the binary's shared-library closure (ldd) + the dynamic loader +
#      /etc/passwd with 'nobody', imported with `docker import` (tagged by its content hash); the
#      binary links no runtime, so the base is small and shared by every runtime's image;
#   2. per runtime, images/local/Dockerfile adds the stripped binary and one layer with that
#      runtime's plugin (/usr/local/lib/edgebench/plugins/libedgebench_rt_RUNTIME.so) and the
#      libraries of its closure that the base lacks: an image carries only its own runtime;
#   3. each image is checked by running `edgebench runtimes --json` in it (no network, non-root):
#      the runtime must be available there;
#   4. pushed to the registry (tools/docker-env.sh starts one on loopback).
# Images already in the registry for the same binary and libraries are not rebuilt.
# For real deployments (Debian x86-64/arm64, Jetson) see images/ and docs/device-images.md.
#
#   tools/images.sh [--binary PATH] [--registry HOST:PORT] [--runtimes a,b,c] [--no-push]
#
# Prints one line per image on stdout, the argument of `edgebench server --image`:
#   image RUNTIME/ARCH=REGISTRY/edgebench/RUNTIME:TAG
# Progress goes to stderr. Errors: one line on stderr, exit 1.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BINARY="$PWD/build/src/cli/edgebench"
REGISTRY="${EDGEBENCH_REGISTRY:-127.0.0.1:5000}"
RUNTIMES=""
PUSH=1
DOCKER="${EDGEBENCH_DOCKER_CLI:-$(command -v /usr/bin/docker || command -v docker || true)}"

die() { echo "images: $*" >&2; exit 1; }
log() { echo "[images] $*" >&2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --binary) BINARY="$(realpath "${2:?--binary needs a path}")"; shift 2 ;;
    --registry) REGISTRY="${2:?--registry needs HOST:PORT}"; shift 2 ;;
    --runtimes) RUNTIMES="${2:?--runtimes needs a comma-separated list}"; shift 2 ;;
    --no-push) PUSH=0; shift ;;
    *) die "unknown argument '$1' (usage: tools/images.sh [--binary PATH] [--registry HOST:PORT] [--runtimes a,b] [--no-push])" ;;
  esac
done

[[ -x "$BINARY" ]] || die "$BINARY: no edgebench binary (build it with tools/build.sh or pass --binary)"
[[ -n "$DOCKER" ]] || die "no docker CLI found (tools/setup.sh installs docker.io)"
"$DOCKER" version >/dev/null 2>&1 || die "no Docker engine answers (start one with tools/docker-env.sh start)"
command -v jq >/dev/null || die "jq not found (tools/setup.sh installs it)"

ARCH="$(uname -m)"  # the agents' architecture name (facts.arch)
case "$ARCH" in
  x86_64) PLATFORM=amd64 ;;
  aarch64) PLATFORM=arm64 ;;
  armv7l) PLATFORM=arm ;;
  *) PLATFORM="$ARCH" ;;
esac

LISTING="$("$BINARY" runtimes --json)" || die "$BINARY runtimes --json failed"
if [[ -z "$RUNTIMES" ]]; then
  RUNTIMES="$(jq -r '[.runtimes[] | select(.available) | .name] | join(",")' <<<"$LISTING")"
fi

WORK="$(mktemp -d /tmp/edgebench-images.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# ---- the binary and its closure ---------------------------------------------------------------
cp "$BINARY" "$WORK/edgebench"
strip --strip-debug "$WORK/edgebench"
# Every library ldd resolves (by the path the loader will look up), plus the loader itself.
mapfile -t LIBS < <(ldd "$BINARY" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | sort -u)
if ldd "$BINARY" | grep -q "not found"; then
  die "$BINARY has unresolved libraries: $(ldd "$BINARY" | grep 'not found' | head -n1 | xargs)"
fi
ROOT="$WORK/rootfs"
mkdir -p "$ROOT"/{etc,tmp,models,results,usr/local/bin}
chmod 1777 "$ROOT/tmp"
for lib in "${LIBS[@]}"; do
  mkdir -p "$ROOT$(dirname "$lib")"
  cp -L "$lib" "$ROOT$lib"
done
# The images carry their libraries where the build found them (e.g. the runtimes cache): the
# binary's RUNPATH points there. Usual merged-/usr links so the loader path resolves too.
[[ -d "$ROOT/usr/lib" && ! -e "$ROOT/lib" ]] && ln -s usr/lib "$ROOT/lib"
[[ -d "$ROOT/usr/lib64" && ! -e "$ROOT/lib64" ]] && ln -s usr/lib64 "$ROOT/lib64"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/tmp:/sbin/nologin\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOT/etc/group"
# ONNX Runtime 1.29 crashes (fclose(NULL)) when /etc/machine-id is missing: a fixed, anonymous id.
echo 00000000000000000000000000000000 >"$ROOT/etc/machine-id"
host_os="$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
printf 'ID=edgebench\nNAME="edgebench runtime image"\nPRETTY_NAME="edgebench runtime image (libraries of %s)"\n' \
  "${host_os:-unknown}" >"$ROOT/etc/os-release"
# A reproducible tarball: fixed order, owners and times, so the same libraries give the same hash.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='2020-01-01 00:00:00Z' \
  -C "$ROOT" -cf "$WORK/rootfs.tar" .
BASE_HASH="$(sha256sum "$WORK/rootfs.tar" | cut -c1-12)"
BIN_HASH="$(sha256sum "$WORK/edgebench" | cut -c1-12)"
BASE="edgebench/base:$PLATFORM-$BASE_HASH"

registry_has() {  # registry_has REPO TAG
  curl -fsS -o /dev/null --max-time 10 \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/$1/manifests/$2" 2>/dev/null
}

if ! "$DOCKER" image inspect "$BASE" >/dev/null 2>&1; then
  log "base $BASE: importing $(du -sh "$WORK/rootfs.tar" | cut -f1) (${#LIBS[@]} libraries)"
  "$DOCKER" import --platform "linux/$PLATFORM" "$WORK/rootfs.tar" "$BASE" >/dev/null
else
  log "base $BASE: present"
fi

# The build context of RUNTIME's image: the Dockerfile, the binary and runtime/ = the plugin at
# the path the binary looks in (../lib/edgebench/plugins next to bin/) plus every library of
# the plugin's closure that the base does not hold. Prints the context's content hash.
runtime_context() {  # runtime_context RUNTIME PLUGIN
  local runtime="$1" plugin="$2" context="$WORK/context-$1" lib
  mkdir -p "$context/runtime/usr/local/lib/edgebench/plugins"
  cp images/local/Dockerfile "$WORK/edgebench" "$context/"
  cp "$plugin" "$context/runtime/usr/local/lib/edgebench/plugins/"
  strip --strip-debug "$context/runtime/usr/local/lib/edgebench/plugins/$(basename "$plugin")"
  if ldd "$plugin" | grep -q "not found"; then
    die "$plugin has unresolved libraries: $(ldd "$plugin" | grep 'not found' | head -n1 | xargs)"
  fi
  while read -r lib; do
    [[ -e "$ROOT$lib" ]] && continue
    mkdir -p "$context/runtime$(dirname "$lib")"
    cp -L "$lib" "$context/runtime$lib"
  done < <(ldd "$plugin" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u)
  (cd "$context" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}

for runtime in ${RUNTIMES//,/ }; do
  version="$(jq -r --arg r "$runtime" '.runtimes[] | select(.name == $r) | .version' <<<"$LISTING")"
  formats="$(jq -r --arg r "$runtime" '.runtimes[] | select(.name == $r) | .formats // [] | join(",")' <<<"$LISTING")"
  available="$(jq -r --arg r "$runtime" '.runtimes[] | select(.name == $r) | .available' <<<"$LISTING")"
  plugin="$(jq -r --arg r "$runtime" '.runtimes[] | select(.name == $r) | .plugin // ""' <<<"$LISTING")"
  [[ "$available" == "true" && -f "$plugin" ]] || die "runtime '$runtime' has no loadable plugin for $BINARY"
  TAG="$PLATFORM-$BASE_HASH-$(runtime_context "$runtime" "$plugin")"
  ref="$REGISTRY/edgebench/$runtime:$TAG"
  if [[ $PUSH -eq 1 ]] && registry_has "edgebench/$runtime" "$TAG"; then
    log "$runtime: $ref already in the registry"
    echo "image $runtime/$ARCH=$ref"
    continue
  fi
  log "$runtime $version: building $ref ($(du -sh "$WORK/context-$runtime/runtime" | cut -f1) runtime layer)"
  DOCKER_BUILDKIT=0 "$DOCKER" build -q --build-arg "BASE=$BASE" \
    --build-arg "RUNTIME=$runtime" --build-arg "RUNTIME_VERSION=$version" --build-arg "RUNTIME_FORMATS=$formats" -t "$ref" "$WORK/context-$runtime" >/dev/null ||
    die "docker build of $ref failed"
  # The image must offer its runtime under the agents' sandbox (no network, nobody, read-only).
  check="$("$DOCKER" run --rm --network none --read-only --user 65534:65534 "$ref" runtimes --json)" ||
    die "$ref: 'edgebench runtimes' failed inside the image"
  [[ "$(jq -r --arg r "$runtime" '.runtimes[] | select(.name == $r) | .available' <<<"$check")" == "true" ]] ||
    die "$ref: runtime '$runtime' is not available inside the image: $(jq -c --arg r "$runtime" '.runtimes[] | select(.name == $r)' <<<"$check")"
  if [[ $PUSH -eq 1 ]]; then
    log "$runtime: pushing to $REGISTRY"
    "$DOCKER" push -q "$ref" >/dev/null 2>"$WORK/push.log" || die "push of $ref failed: $(tail -n1 "$WORK/push.log")"
  fi
  echo "image $runtime/$ARCH=$ref"
done
