# Sourced by tools/demo.sh and tools/precision_table.sh: a local edgebench server (SQLite in
# $WORK/server, loopback, a free port) and one agent named 'local', both stopped on exit.
#
#   start_local_service TAG MODE [SERVER_ARGS...]
#
# Needs EDGEBENCH (the binary) and WORK (a directory). Sets URL; the admin token is
# $WORK/server/admin.token. Returns once the agent is listed by the server (tasks are refused
# before), or exits 1 naming the log when the server or the agent does not come up. TAG prefixes
# the messages ("[demo]").

start_local_service() {
  local tag="$1" mode="$2" line i
  shift 2
  # The server prints 'listening on URL' as its first line: read it from the coprocess, no polling.
  coproc SERVER { exec "$EDGEBENCH" server --listen 127.0.0.1:0 --data "$WORK/server" "$@" 2>"$WORK/server.log"; }
  LOCAL_SERVER_PID=$SERVER_PID
  LOCAL_AGENT_PID=""
  trap stop_local_service EXIT
  if ! read -r line <&"${SERVER[0]}"; then
    echo "$tag the server did not start: $(tail -n1 "$WORK/server.log")" >&2
    exit 1
  fi
  URL="${line#listening on }"
  echo "$tag server at $URL (data in $WORK/server)"
  echo "$tag dashboard: open $URL/ and sign in with the token in $WORK/server/admin.token"

  "$EDGEBENCH" agent --server "$URL" --name local --token-file "$WORK/server/agent.token" --mode "$mode" \
    2>"$WORK/agent.log" &
  LOCAL_AGENT_PID=$!
  # Docker mode first asks the engine and the server's image catalog: wait for the agent to be
  # listed, bounded, and stop if it died.
  for ((i = 0; ; i++)); do
    if "$EDGEBENCH" devices --json --server "$URL" --token-file "$WORK/server/admin.token" 2>/dev/null |
      jq -e 'any(.[]; .name == "local")' >/dev/null; then
      break
    fi
    if ! kill -0 "$LOCAL_AGENT_PID" 2>/dev/null || ((i >= 240)); then
      echo "$tag the agent did not register: $(tail -n1 "$WORK/agent.log")" >&2
      exit 1
    fi
    sleep 0.5
  done
  echo "$tag agent 'local' registered ($mode mode)"
}

stop_local_service() {
  [[ -n "${LOCAL_AGENT_PID:-}" ]] && kill "$LOCAL_AGENT_PID" 2>/dev/null || true
  kill "$LOCAL_SERVER_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
