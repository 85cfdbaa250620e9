#!/usr/bin/env bash
# A local Redis Cluster on loopback, for trying Vigil's several-node mode and for its tests:
# three primaries, each with one replica.
#
#   tools/cluster.sh up   [--port 7000] [--dir .cluster]   starts it; prints the seed addresses
#   tools/cluster.sh down [--port 7000] [--dir .cluster]   stops it and removes its files
#   tools/cluster.sh restart-node --node PORT [--dir .cluster]   starts a node that died again
#
# Nodes listen on PORT..PORT+5 (and their cluster bus on PORT+10000..), keep their files under
# DIR/PORT+i, and are made primaries and replicas with redis-cli --cluster create. `up` waits
# until every slot is served; it refuses to start over a cluster already running there.
set -euo pipefail
cd "$(dirname "$0")/.."
command=${1:-}
shift || true
port=7000
dir=.cluster
node=
while [ $# -gt 0 ]; do
  case $1 in
    --port) port=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --node) node=$2; shift 2 ;;
    *) echo "cluster.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
nodes=6
ports=()
for i in $(seq 0 $((nodes - 1))); do ports+=($((port + i))); done

# start_node PORT: one node, on its directory (again, after it died: it rejoins the cluster
# from its nodes.conf, as a replica if another took its place).
start_node() {
  local p=$1
  mkdir -p "$dir/$p"
  # appendonly with fsync every second: what an acknowledged write may lose when a node dies is
  # in README's "Several nodes" section.
  redis-server --port "$p" --bind 127.0.0.1 --daemonize yes --dir "$dir/$p" \
    --pidfile "$(realpath "$dir/$p")/redis.pid" --logfile redis.log \
    --cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000 \
    --appendonly yes --appendfsync everysec --save "" >/dev/null
}

down() {
  local pids=()
  for p in "${ports[@]}"; do
    if [ -f "$dir/$p/redis.pid" ]; then pids+=("$(cat "$dir/$p/redis.pid")"); fi
  done
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  rm -rf "$dir"
}

up() {
  command -v redis-server >/dev/null || { echo "cluster.sh: redis-server is missing (tools/install-deps.sh installs it)" >&2; exit 1; }
  for p in "${ports[@]}"; do
    if redis-cli -p "$p" PING >/dev/null 2>&1; then
      echo "cluster.sh: something already answers on port $p" >&2
      exit 1
    fi
  done
  mkdir -p "$dir"
  for p in "${ports[@]}"; do start_node "$p"; done
  for p in "${ports[@]}"; do
    for _ in $(seq 50); do redis-cli -p "$p" PING >/dev/null 2>&1 && break; sleep 0.1; done
  done
  addresses=()
  for p in "${ports[@]}"; do addresses+=("127.0.0.1:$p"); done
  redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 ||
    { cat "$dir/create.log" >&2; down; exit 1; }
  # Up when every node sees every slot served (each node learns the others' state by gossip).
  for _ in $(seq 200); do
    ok=0
    for p in "${ports[@]}"; do
      info=$(redis-cli -p "$p" CLUSTER INFO 2>/dev/null || true)
      if grep -q "cluster_state:ok" <<<"$info" &&
         [ "$(awk -F: '/cluster_slots_ok/ {print $2+0}' <<<"$info")" = 16384 ]; then
        ok=$((ok + 1))
      fi
    done
    if [ "$ok" = "$nodes" ]; then
      (IFS=,; echo "${addresses[*]}")
      return 0
    fi
    sleep 0.1
  done
  echo "cluster.sh: the cluster did not come up; see $dir/*/redis.log" >&2
  down
  exit 1
}

case $command in
  up) up ;;
  down) down ;;
  restart-node) start_node "$node" ;;
  *) echo "usage: tools/cluster.sh up|down|restart-node [--port 7000] [--dir .cluster] [--node PORT]" >&2; exit 2 ;;
esac
