# Sourced by tools/bench.sh and tools/bench-overload.sh: a scratch directory ($out) removed at
# exit, and servers started in the background that are stopped at exit whatever happens.
out=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$out"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_for_port() {  # wait_for_port PORT NAME LOG
  for _ in $(seq 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "bench: $2 did not start; its log:" >&2
  cat "$3" >&2
  exit 1
}
start() {  # start NAME PORT COMMAND...: runs a server in the background until the script ends
  local name=$1 port=$2
  shift 2
  "$@" >"$out/$name.log" 2>&1 &
  pids+=($!)
  eval "${name//-/_}_pid=$!"
  wait_for_port "$port" "$name" "$out/$name.log"
}
stop() {  # stop PID: SIGTERM, and wait until it has exited
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
