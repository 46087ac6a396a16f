#!/usr/bin/env bash
# The Docker side of edgebench's tests and demo on one machine: a Docker engine (dockerd) and a
# registry on loopback (Debian's docker-registry), both started only when not already answering.
#
#   tools/docker-env.sh start    start what is missing; prints 'docker VERSION' and 'registry HOST:PORT'
#   tools/docker-env.sh status   exit 0 when both answer (prints the same lines), 1 otherwise
#   tools/docker-env.sh stop     stop what this script started (pid files); leaves others alone
#
# Idempotent and safe to run concurrently (flock). Needs root to start dockerd. Errors are one
# line on stderr, exit 1. Environment:
#   EDGEBENCH_REGISTRY       HOST:PORT of the registry (default 127.0.0.1:5000; loopback registries
#                            are plain HTTP, which Docker accepts for 127.0.0.0/8 without configuration)
#   EDGEBENCH_DOCKER_SOCKET  the engine's socket (default /var/run/docker.sock)
#   EDGEBENCH_CACHE_DIR      state lives in $EDGEBENCH_CACHE_DIR/docker-env (default ~/.cache/edgebench)
set -euo pipefail

REGISTRY="${EDGEBENCH_REGISTRY:-127.0.0.1:5000}"
SOCKET="${EDGEBENCH_DOCKER_SOCKET:-/var/run/docker.sock}"
CACHE="${EDGEBENCH_CACHE_DIR:-${HOME:-/root}/.cache/edgebench}"
STATE="$CACHE/docker-env"
DOCKER="${EDGEBENCH_DOCKER_CLI:-$(command -v /usr/bin/docker || command -v docker || true)}"

die() { echo "docker-env: $*" >&2; exit 1; }

engine_version() {  # prints the engine's version when it answers on $SOCKET
  [[ -S "$SOCKET" ]] || return 1
  curl -fsS --max-time 5 --unix-socket "$SOCKET" http://docker/version 2>/dev/null |
    sed -n 's/.*"Version":"\([^"]*\)".*/\1/p' | head -n1 | grep .
}

registry_answers() { curl -fsS --max-time 5 "http://$REGISTRY/v2/" >/dev/null 2>&1; }

# Waits up to $2 seconds for the check function $1 (each try is a real request, not a sleep guess).
wait_for() {
  local check="$1" seconds="$2" i
  for ((i = 0; i < seconds * 5; i++)); do
    "$check" >/dev/null && return 0
    sleep 0.2
  done
  return 1
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_engine() {
  engine_version >/dev/null && return 0
  command -v dockerd >/dev/null || die "dockerd not found (tools/setup.sh installs docker.io)"
  [[ $(id -u) -eq 0 ]] || die "no Docker engine answers on $SOCKET and starting dockerd needs root"
  if alive "$STATE/dockerd.pid"; then
    wait_for engine_version 60 || die "dockerd (pid $(cat "$STATE/dockerd.pid")) does not answer; see $STATE/dockerd.log"
    return 0
  fi
  # containerd is started by dockerd itself; the data root is Docker's default.
  setsid dockerd --host "unix://$SOCKET" --storage-driver overlay2 >"$STATE/dockerd.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/dockerd.pid"
  if ! wait_for engine_version 60; then
    die "dockerd did not answer within 60 s: $(grep -v '^\s*$' "$STATE/dockerd.log" | tail -n1)"
  fi
}

start_registry() {
  registry_answers && return 0
  command -v docker-registry >/dev/null || die "docker-registry not found (tools/setup.sh installs it)"
  if ! alive "$STATE/registry.pid"; then
    mkdir -p "$STATE/registry-data"
    cat >"$STATE/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE/registry-data
  delete:
    enabled: true
http:
  addr: $REGISTRY
EOF
    setsid docker-registry serve "$STATE/registry.yml" >"$STATE/registry.log" 2>&1 </dev/null 9>&- &
    echo $! >"$STATE/registry.pid"
  fi
  if ! wait_for registry_answers 30; then
    die "the registry did not answer on $REGISTRY within 30 s: $(grep -v '^\s*$' "$STATE/registry.log" | tail -n1)"
  fi
}

stop_one() {  # stop_one NAME: the process in $STATE/NAME.pid, if this script started it
  local pidfile="$STATE/$1.pid" pid i
  [[ -f "$pidfile" ]] || return 0
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for ((i = 0; i < 150; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$pidfile"
  echo "docker-env: stopped $1 (pid $pid)"
}

report() {
  local version
  version="$(engine_version)" || return 1
  registry_answers || return 1
  echo "docker $version"
  echo "registry $REGISTRY"
}

mkdir -p "$STATE"
exec 9>"$STATE/lock"
flock 9

case "${1:-}" in
  start)
    start_engine
    start_registry
    report
    ;;
  status) report ;;
  stop)
    stop_one registry
    stop_one dockerd
    ;;
  *) die "usage: tools/docker-env.sh start|status|stop" ;;
esac
