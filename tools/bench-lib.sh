# Sourced by the tools/bench*.sh scripts: a scratch directory ($out) removed at exit, servers
# started in the background that are stopped at exit whatever happens, and a local Redis Cluster
# that is too (cluster_up).
out=$(mktemp -d)
pids=()
cluster_port=""
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "$cluster_port" ] || tools/cluster.sh down --port "$cluster_port" --dir "$out/cluster" >/dev/null
  rm -rf "$out"
}
trap cleanup EXIT

cluster_up() {  # cluster_up PORT: tools/cluster.sh's cluster on PORT..PORT+5; sets $seeds
  cluster_port=$1
  seeds=$(tools/cluster.sh up --port "$cluster_port" --dir "$out/cluster")
}
cluster_flush() {  # empties every primary: a run on the cluster starts from no users
  local node
  for node in $(seq "$cluster_port" $((cluster_port + 5))); do
    [ "$(redis-cli -p "$node" ROLE | head -1)" = master ] && redis-cli -p "$node" FLUSHALL >/dev/null
  done
  return 0
}

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
