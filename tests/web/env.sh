# Sourced by tests/web/run.sh and tools/screenshots.sh: the pinned node and @playwright/test that
# tools/setup.sh installs into the cache directory, never the node on PATH. Sets CACHE, MODULES
# and NODE, puts the pinned node first on PATH and exports NODE_PATH; exits 1 naming what is
# missing.
CACHE="${EDGEBENCH_CACHE_DIR:-${HOME:?HOME is not set; set EDGEBENCH_CACHE_DIR}/.cache/edgebench}"
MODULES="$CACHE/web-tests/node_modules"
NODE="$CACHE/node/bin/node"
for needed in "$NODE" "$MODULES/@playwright/test/cli.js"; do
  if [[ ! -e "$needed" ]]; then
    echo "${0##*/}: $needed is missing: run tools/setup.sh" >&2
    exit 1
  fi
done
export PATH="$CACHE/node/bin:$PATH" NODE_PATH="$MODULES" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
