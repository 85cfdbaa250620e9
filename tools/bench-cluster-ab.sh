#!/usr/bin/env bash
# Compares two builds of vigild on a Redis Cluster in one run:
#
#   tools/bench-cluster-ab.sh BEFORE_BIN AFTER_BIN [ROUNDS]
#
# BEFORE_BIN and AFTER_BIN are the bin/ directories of two Release builds (vigild each; the load
# comes from AFTER_BIN's vigil-bench). ROUNDS (default 3) times, alternating so that both meet
# the same machine: one vigild on a local cluster (tools/cluster.sh, emptied before each run),
# the users set up, then its highest rate (closed loop, 64 calls in flight, 20,000 users, Zipf
# 0.9, or VIGIL_BENCH_ZIPF). Prints each run, then the medians and the ratios AFTER/BEFORE,
# paired by round.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: tools/bench-cluster-ab.sh BEFORE_BIN AFTER_BIN [ROUNDS]" >&2
  exit 2
fi
before=$(realpath "$1") after=$(realpath "$2") rounds=${3:-3} zipf=${VIGIL_BENCH_ZIPF:-0.9}
for bin in "$before" "$after"; do
  [ -x "$bin/vigild" ] || { echo "bench-cluster-ab: no $bin/vigild" >&2; exit 2; }
done
[ -x "$after/vigil-bench" ] || { echo "bench-cluster-ab: no $after/vigil-bench" >&2; exit 2; }

source tools/bench-lib.sh  # $out, start, stop, free_port, cluster_up, cluster_flush
cluster_up 7300
run() {  # run NAME BIN: a fresh vigild of BIN on an empty cluster; its figures in $out/NAME.json
  local name=$1 bin=$2 port
  port=$(free_port)
  cluster_flush
  start vigild "$port" "$bin/vigild" --listen "127.0.0.1:$port" --admin-listen "" --rules rules \
    --rules-poll-ms 0 --redis-cluster "$seeds"
  "$after/vigil-bench" --target "127.0.0.1:$port" --users 20000 --duration-s 0.1 --warmup-s 0 \
    --json --progress=false >/dev/null
  "$after/vigil-bench" --target "127.0.0.1:$port" --users 20000 --zipf "$zipf" --setup=false \
    --concurrency 64 --duration-s 10 --warmup-s 2 --json --progress=false >"$out/$name.json" \
    2>"$out/$name.err" || sed 's/^/   /' "$out/$name.err"
  stop "$vigild_pid"
  python3 - "$out/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"   {sys.argv[2]:<10} {r['rate']:>8.0f} calls/s  p50 {r['p50_ms']:.2f} ms  "
      f"p99 {r['p99_ms']:.2f} ms  errors {r['errors']}")
PY
}

for round in $(seq "$rounds"); do
  echo "== round $round of $rounds =="
  run "before-$round" "$before"
  run "after-$round" "$after"
done

python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
runs = {(w, r): json.load(open(f"{out}/{w}-{r}.json"))
        for w in ("before", "after") for r in range(1, rounds + 1)}
print(f"\nmedians of {rounds} rounds (ratios after/before paired by round):")
print("| | before | after | after / before |")
print("|---|---|---|---|")
for key, label in (("rate", "calls/s"), ("p50_ms", "p50 ms"), ("p99_ms", "p99 ms")):
    b = statistics.median(runs["before", r][key] for r in range(1, rounds + 1))
    a = statistics.median(runs["after", r][key] for r in range(1, rounds + 1))
    ratio = statistics.median(runs["after", r][key] / runs["before", r][key]
                              for r in range(1, rounds + 1))
    print(f"| {label} | {b:,.2f} | {a:,.2f} | {ratio:.3f} |")
PY
