#!/usr/bin/env bash
# Measures vigild on Redis Cluster against vigild on its embedded store, in one run, and writes
# bench/cluster.json and a table on standard output:
#
#   tools/bench-cluster.sh          three rounds, about 3 minutes on 2 cores
#
# Each round, alternating, each at its highest rate (closed loop, 64 calls in flight, 20,000
# users, a fresh server with the users set up):
#   1. one vigild on the embedded store (--data-dir, fsync), the baseline of the ratios;
#   2. one vigild on a local Redis Cluster (tools/cluster.sh: 3 primaries, 3 replicas);
#   3. two vigilds on the same cluster, vigil-bench spreading its channels over both.
# On the cluster runs it also counts the round trips per decision (how often vigild waited for
# Redis, from its vigil_redis_round_trips_total), and, from Redis's own statistics, the commands
# the primaries executed per decision (the functions' own included) and the CPU that all six
# Redis processes used per decision (replication included).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
if [ "${VIGIL_BENCH_SKIP_BUILD:-0}" != 1 ]; then
  echo "== build (Release) =="
  VIGIL_TARGETS="vigild vigil-bench" tools/build.sh build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
bin=build-release/bin
rounds=${VIGIL_BENCH_ROUNDS:-3}
users=20000

source tools/bench-lib.sh  # $out, start, stop, free_port, cluster_up, cluster_flush
cluster_up 7300
nodes=()
for i in 0 1 2 3 4 5; do nodes+=($((cluster_port + i))); done

redis_stats() {  # redis_stats NAME: every node's INFO (commandstats, cpu, replication)
  local node
  for node in "${nodes[@]}"; do
    echo "# node $node"
    redis-cli -p "$node" INFO commandstats
    redis-cli -p "$node" INFO cpu
    redis-cli -p "$node" INFO replication
  done >"$out/$1.redis"
}
round_trips() {  # round_trips NAME: the vigilds' round trips and conflicts, each summed
  python3 - "${admins[@]}" >"$out/$1.trips" <<'PY'
import json, sys, urllib.request
total = {"vigil_redis_round_trips_total": 0.0, "vigil_redis_conflicts_total": 0.0}
for port in sys.argv[1:]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in total:
            total[name] += float(value)
print(json.dumps(total))
PY
}
admins=()  # the admin ports of the vigilds of the run on the cluster
run() {  # run NAME TARGETS: sets the users up, then one measured run; its JSON in $out/NAME.json
  local name=$1 targets=$2
  "$bin/vigil-bench" --target "$targets" --users "$users" --duration-s 0.1 --warmup-s 0 \
    --json --progress=false >/dev/null
  redis_stats "$name.before"
  [ ${#admins[@]} -eq 0 ] || round_trips "$name.before"
  # A run with errors still counts (they are reported); one with no figures stops the bench.
  "$bin/vigil-bench" --target "$targets" --users "$users" --zipf 0.9 --setup=false \
    --concurrency 64 --duration-s 10 --warmup-s 2 --json --progress=false >"$out/$name.json" \
    2>"$out/$name.err" || sed 's/^/   /' "$out/$name.err"
  redis_stats "$name.after"
  [ ${#admins[@]} -eq 0 ] || round_trips "$name.after"
  python3 - "$out/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"   {sys.argv[2]:<16} {r['rate']:>8.0f} calls/s  p99 {r['p99_ms']:.2f} ms  errors {r['errors']}")
PY
}

for round in $(seq "$rounds"); do
  echo "== round $round of $rounds =="
  port=$(free_port)
  mkdir -p "$out/data-$round"
  start vigild "$port" "$bin/vigild" --listen "127.0.0.1:$port" --admin-listen "" --rules rules \
    --rules-poll-ms 0 --data-dir "$out/data-$round"
  run "embedded-$round" "127.0.0.1:$port"
  stop "$vigild_pid"

  port=$(free_port) admins=("$(free_port)")
  cluster_flush
  start vigild "$port" "$bin/vigild" --listen "127.0.0.1:$port" \
    --admin-listen "127.0.0.1:${admins[0]}" --rules rules --rules-poll-ms 0 --redis-cluster "$seeds"
  run "cluster1-$round" "127.0.0.1:$port"
  stop "$vigild_pid"

  port=$(free_port) port2=$(free_port) admins=("$(free_port)" "$(free_port)")
  cluster_flush
  start vigild "$port" "$bin/vigild" --listen "127.0.0.1:$port" \
    --admin-listen "127.0.0.1:${admins[0]}" --rules rules --rules-poll-ms 0 --redis-cluster "$seeds"
  first_pid=$vigild_pid
  start vigild "$port2" "$bin/vigild" --listen "127.0.0.1:$port2" \
    --admin-listen "127.0.0.1:${admins[1]}" --rules rules --rules-poll-ms 0 --redis-cluster "$seeds"
  run "cluster2-$round" "127.0.0.1:$port,127.0.0.1:$port2"
  stop "$vigild_pid"
  stop "$first_pid"
  admins=()
done

python3 - "$out" "$rounds" <<'PY'
import json, re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])

def info(path):
    """Per node: its role, the calls of each command, and its CPU seconds."""
    nodes, node = [], None
    for line in open(path):
        line = line.strip()
        if line.startswith("# node"):
            node = {"calls": {}, "usec": {}, "cpu": 0.0, "role": None}
            nodes.append(node)
        elif line.startswith("cmdstat_"):
            name, fields = line[len("cmdstat_"):].split(":", 1)
            node["calls"][name] = int(re.search(r"calls=(\d+)", fields).group(1))
            node["usec"][name] = int(re.search(r"usec=(\d+)", fields).group(1))
        elif line.startswith(("used_cpu_sys:", "used_cpu_user:")) and "children" not in line:
            node["cpu"] += float(line.split(":")[1])
        elif line.startswith("role:"):
            node["role"] = line.split(":")[1]
    return nodes

def redis_cost(name, decisions):
    before, after = info(f"{out}/{name}.before.redis"), info(f"{out}/{name}.after.redis")
    commands = {}
    cpu = 0.0
    in_commands = 0
    for b, a in zip(before, after):
        cpu += a["cpu"] - b["cpu"]
        # Time in commands: on a primary, those vigild sends (a function's time includes the
        # commands it runs, which commandstats also counts on their own); on a replica, the
        # writes it replays.
        sent = ("fcall", "hmget", "wait") if a["role"] == "master" else \
            [c for c in a["usec"] if c not in ("info", "cluster|slots", "cluster", "ping", "replconf")]
        in_commands += sum(a["usec"].get(c, 0) - b["usec"].get(c, 0) for c in sent)
        if a["role"] != "master":
            continue
        for command, calls in a["calls"].items():
            delta = calls - b["calls"].get(command, 0)
            if delta and command not in ("info", "cluster|slots", "cluster", "ping"):
                commands[command] = commands.get(command, 0) + delta
    total = sum(commands.values())
    # How often vigild waited for Redis: a charge's claim goes out with its commit.
    counted = [json.load(open(f"{out}/{name}.{when}.trips")) for when in ("before", "after")]
    trips, conflicts = (counted[1][metric] - counted[0][metric] for metric in
                        ("vigil_redis_round_trips_total", "vigil_redis_conflicts_total"))
    return {"round_trips_per_decision": trips / decisions,
            "conflicts_per_decision": conflicts / decisions,
            "commands_per_decision": total / decisions,
            "by_command": {c: n / decisions for c, n in sorted(commands.items())},
            "redis_cpu_us_per_decision": cpu * 1e6 / decisions,
            # Of that CPU, the time spent running commands (the functions' included); the rest
            # is Redis's event loop: reading and writing sockets, and replication.
            "redis_command_us_per_decision": in_commands / decisions}

result = {"rounds": []}
for r in range(1, rounds + 1):
    row = {}
    for name in ("embedded", "cluster1", "cluster2"):
        run = json.load(open(f"{out}/{name}-{r}.json"))
        # Decisions in the measured interval and the warm-up: what Redis saw.
        decisions = run["calls"] * (12 / 10)
        row[name] = {"rate": run["rate"], "p99_ms": run["p99_ms"], "errors": run["errors"]}
        if name != "embedded":
            row[name].update(redis_cost(f"{name}-{r}", decisions))
    result["rounds"].append(row)

def med(name, key):
    return statistics.median(row[name][key] for row in result["rounds"])
def paired(name, key):
    return statistics.median(row[name][key] / row["embedded"][key] for row in result["rounds"])
summary = {}
for name in ("embedded", "cluster1", "cluster2"):
    summary[name] = {"rate": med(name, "rate"), "p99_ms": med(name, "p99_ms")}
    if name != "embedded":
        summary[name]["rate_vs_embedded"] = paired(name, "rate")
        summary[name]["p99_vs_embedded"] = paired(name, "p99_ms")
        summary[name]["round_trips_per_decision"] = med(name, "round_trips_per_decision")
        summary[name]["conflicts_per_decision"] = med(name, "conflicts_per_decision")
        summary[name]["commands_per_decision"] = med(name, "commands_per_decision")
        summary[name]["redis_cpu_us_per_decision"] = med(name, "redis_cpu_us_per_decision")
        summary[name]["redis_command_us_per_decision"] = med(name, "redis_command_us_per_decision")
result["summary"] = summary
json.dump(result, open("bench/cluster.json", "w"), indent=2)
print()
print(f"medians of {rounds} rounds (ratios paired by round):")
print("| setup | calls/s | vs embedded | p99 ms | vs embedded | round trips / decision | conflicts / decision | Redis commands / decision | Redis CPU µs / decision | of which in commands |")
print("|---|---|---|---|---|---|---|---|---|---|")
for name, label in (("embedded", "one vigild, embedded store"),
                    ("cluster1", "one vigild, Redis Cluster"),
                    ("cluster2", "two vigilds, Redis Cluster")):
    s = summary[name]
    if name == "embedded":
        print(f"| {label} | {s['rate']:,.0f} | 1 | {s['p99_ms']:.2f} | 1 | | | | | |")
    else:
        print(f"| {label} | {s['rate']:,.0f} | {s['rate_vs_embedded']:.3f} | {s['p99_ms']:.2f} | "
              f"{s['p99_vs_embedded']:.2f} | {s['round_trips_per_decision']:.2f} | "
              f"{s['conflicts_per_decision']:.3f} | "
              f"{s['commands_per_decision']:.2f} | "
              f"{s['redis_cpu_us_per_decision']:.0f} | "
              f"{s['redis_command_us_per_decision']:.1f} |")
for name in ("cluster1", "cluster2"):
    print(f"{name} commands per decision, by command (round 1):",
          {c: round(v, 3) for c, v in result["rounds"][0][name]["by_command"].items()})
PY
