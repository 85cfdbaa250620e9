#!/usr/bin/env bash
# tools/bench-notices.sh: what notices cost, each against a baseline measured in the same run.
#
#   1. In process (store_benchmark, RocksDB handing batches to the OS, 8 threads): Authorize of
#      users who are not told of their charges, of users who are (one notice each in the
#      outbox), and of those while a consumer reads the outbox one notice every 10 ms; ROUNDS
#      (default 3) repetitions, interleaved at random.
#   2. Over gRPC: a Release vigild with a store (no fsync) under vigil-bench (closed loop, 64 in
#      flight, 100,000 users drawn uniformly, so that most charges are approved): users who are
#      not told, users who are, and others who are while `vigilctl watch` reads through a pipe
#      that takes one line every 10 ms (a reader that sleeps, not one that spends CPU);
#      ROUNDS rounds of 5 s each, the three in a rotating order (the store grows as the run
#      goes on, and vigild slows with it: a fixed order would charge that to the last).
#   3. The daily scan and the monthly summary over 1,000,000 users, with an Authorize prober.
#
# With --cluster (tools/bench-notices.sh ROUNDS --cluster), vigild keeps its users and notices
# on a local Redis Cluster (tools/cluster.sh) instead: step 1 is left out (the engine is the
# same; what differs is the store, which only a server has), step 2 is the same, and step 3
# runs the two scans in a second vigild over the users of step 2 and the prober's (310,000)
# while a prober charges other users through the first, then probes as long again without.
#
# Prints the medians and their ratios to the baseline. VIGIL_BENCH_SKIP_BUILD=1 uses
# build-release as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/bench-lib.sh
rounds=${1:-3}
mode=${2:-store}
bin=build-release/bin
if [ -z "${VIGIL_BENCH_SKIP_BUILD:-}" ]; then
  VIGIL_TARGETS="vigild vigil-bench vigilctl store_benchmark" \
    tools/build.sh build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
fi

if [ "$mode" = --cluster ]; then
  cluster_up 7400
  server=(--redis-cluster "$seeds" --notice-check-s 0)
else
  echo "bench-notices: in process, $rounds repetitions" >&2
  "$bin/store_benchmark" --benchmark_filter='BM_Notices_Authorize' --benchmark_min_time=2 \
    --benchmark_repetitions="$rounds" --benchmark_enable_random_interleaving=true \
    --benchmark_format=json >"$out/inprocess.json" 2>/dev/null
  server=(--data-dir "$out/data" --nofsync)
fi

port=$(free_port)
start vigild "$port" "$bin/vigild" --listen "127.0.0.1:$port" --admin-listen "" --rules rules \
  --rules-poll-ms 0 "${server[@]}"
load() {  # load NAME PREFIX SHARE SETUP: one round of vigil-bench, its JSON to $out/NAME.jsonl
  "$bin/vigil-bench" --target "127.0.0.1:$port" --progress=false --warmup-s 1 --duration-s 5 \
    --users 100000 --zipf 0 --concurrency 64 --elderly-share 0 --user-prefix "$2" \
    --notify-share "$3" --setup="$4" --json >>"$out/$1.jsonl"
  echo "bench-notices: $1: $(tail -1 "$out/$1.jsonl" | grep -o '"rate": [0-9.]*')" >&2
}
slow() {  # told users' load (users of their own) while a slow consumer watches
  "$bin/vigilctl" --server "127.0.0.1:$port" watch --consumer slow --json |
    python3 -c 'import sys, time
for _ in sys.stdin: time.sleep(0.01)' &
  local watcher=$!
  load slow slow- 1 "$1"
  pkill -f "watch --consumer slow" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
}
# The profiles and mandates of the three groups of users, each charged as often.
load silent silent- 0 true
load told told- 1 true
slow true
for name in silent told slow; do : >"$out/$name.jsonl"; done  # set-up rounds are not measured
order=(silent told slow)
for ((round = 1; round <= rounds; round++)); do
  for ((i = 0; i < 3; i++)); do
    case ${order[(round + i) % 3]} in
      silent) load silent silent- 0 false ;;
      told) load told told- 1 false ;;
      slow) slow false ;;
    esac
  done
  echo "bench-notices: gRPC round $round done" >&2
done

probe() {  # probe NAME: 5 s of charges of users of their own, its JSON to $out/NAME.jsonl
  "$bin/vigil-bench" --target "127.0.0.1:$port" --progress=false --warmup-s 0 --duration-s 5 \
    --users 10000 --zipf 0 --concurrency 4 --user-prefix probe- --setup=false \
    --json >>"$out/$1.jsonl"
}
if [ "$mode" = --cluster ]; then
  echo "bench-notices: the scans over the cluster's users, in a second vigild" >&2
  "$bin/vigil-bench" --target "127.0.0.1:$port" --progress=false --warmup-s 0 --duration-s 0.1 \
    --users 10000 --user-prefix probe- --json >/dev/null
  scanner=$(free_port)
  start scanner "$scanner" "$bin/vigild" --listen "127.0.0.1:$scanner" --admin-listen "" \
    --rules rules --rules-poll-ms 0 --redis-cluster "$seeds" --notice-check-s 1 \
    --log-format json
  until grep -q '"event":"notice_summary"' "$out/scanner.log"; do probe scanning; done
  stop "$scanner_pid"
  for _ in $(wc -l <"$out/scanning.jsonl" | xargs seq); do probe quiet; done
  grep -h '"event":"notice_s' "$out/scanner.log" >"$out/scans.jsonl"
fi
stop "$vigild_pid"

if [ "$mode" != --cluster ]; then
  echo "bench-notices: the scans over 1,000,000 users" >&2
  "$bin/store_benchmark" --benchmark_filter='BM_Notices_(DailyScan|MonthlySummary)' \
    --benchmark_format=json >"$out/scans.json" 2>/dev/null
fi

python3 - "$out" <<'PY'
import json, os, statistics, sys
out = sys.argv[1]
median = statistics.median
cluster = os.path.exists(f"{out}/scans.jsonl")

def rounds(name):
    return [json.loads(line) for line in open(f"{out}/{name}.jsonl")]

if not cluster:
    print("In process (store_benchmark, 8 threads, RocksDB to the OS, the clock a second a call),")
    print("medians of the repetitions:")
    runs = {}
    for b in json.load(open(f"{out}/inprocess.json"))["benchmarks"]:
        if b.get("run_type") != "iteration":
            continue
        name = b["run_name"].split("/")[0].replace("BM_Notices_Authorize_", "")
        runs.setdefault(name, []).append(b)
    base = median(b["items_per_second"] for b in runs["Silent"])
    print("| users | calls/s | ÷ silent | p50 µs | p99 µs | approved | notices |")
    print("|---|---|---|---|---|---|---|")
    for name in ("Silent", "Notifying", "NotifyingSlowConsumer"):
        rs = runs[name]
        rate = median(b["items_per_second"] for b in rs)
        print(f"| {name} | {rate:,.0f} | {rate / base:.3f} | {median(b['p50_us'] for b in rs):.2f} "
              f"| {median(b['p99_us'] for b in rs):.2f} | {median(b['approved'] for b in rs):.1%} "
              f"| {median(b['notices'] for b in rs):,.0f} |")
    print()

store = "a Redis Cluster" if cluster else "a store"
print(f"Over gRPC (vigil-bench, 64 in flight, 100,000 users; vigild on {store}),")
print("medians of the rounds:")
base = median(r["rate"] for r in rounds("silent"))
print("| users | calls/s | ÷ silent | p50 ms | p99 ms | APPROVE |")
print("|---|---|---|---|---|---|")
for name in ("silent", "told", "slow"):
    rs = rounds(name)
    rate = median(r["rate"] for r in rs)
    approve = median(r["decisions"].get("APPROVE", 0) / max(1, r["calls"]) for r in rs)
    print(f"| {name} | {rate:,.0f} | {rate / base:.3f} | {median(r['p50_ms'] for r in rs):.3f} "
          f"| {median(r['p99_ms'] for r in rs):.3f} | {approve:.1%} |")
print()

if cluster:
    print("The scans over the cluster's users, in a second vigild; a prober (4 in flight) charging")
    print("through the first during them, then as long without (medians of 5 s rounds):")
    print("| scan | took ms | notices |")
    print("|---|---|---|")
    for line in open(f"{out}/scans.jsonl"):
        scan = json.loads(line)
        print(f"| {scan['event']} | {scan['took_ms']:,} | {scan['notices']:,} |")
    print("| prober | rounds | calls/s | p50 ms | p99 ms |")
    print("|---|---|---|---|---|")
    for name in ("scanning", "quiet"):
        rs = rounds(name)
        print(f"| {name} | {len(rs)} | {median(r['rate'] for r in rs):,.0f} "
              f"| {median(r['p50_ms'] for r in rs):.3f} | {median(r['p99_ms'] for r in rs):.3f} |")
else:
    print("Scans over 1,000,000 users (one run each):")
    print("| scan | took ms | notices | took ÷ 1,024 shards, µs | prober p50/p99/max µs during | "
          "without |")
    print("|---|---|---|---|---|---|")
    for b in json.load(open(f"{out}/scans.json"))["benchmarks"]:
        print(f"| {b['run_name'].replace('BM_Notices_', '')} | {b['real_time']:,.0f} "
              f"| {b['notices']:,.0f} | {b['per_shard_us']:,.0f} "
              f"| {b['probe_p50_us']:.0f} / {b['probe_p99_us']:.0f} / {b['probe_max_us']:,.0f} "
              f"({b['probe_calls']:,.0f} calls) | {b['baseline_p50_us']:.0f} / "
              f"{b['baseline_p99_us']:.0f} / {b['baseline_max_us']:,.0f} "
              f"({b['baseline_calls']:,.0f} calls) |")
PY
