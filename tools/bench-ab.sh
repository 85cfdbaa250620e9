#!/usr/bin/env bash
# Compares two builds of Vigil in one run, for a change that should not move the figures (a
# refactoring) or should move them by a known amount:
#
#   tools/bench-ab.sh BEFORE_BIN AFTER_BIN [ROUNDS]
#
# BEFORE_BIN and AFTER_BIN are the bin/ directories of two Release builds (vigild and
# engine_benchmark each; the baseline and the load come from AFTER_BIN). ROUNDS (default 5) times,
# alternating so that both meet the same machine:
#   - gRPC: vigil-baseline, then vigild BEFORE, then vigild AFTER, each at its highest rate
#     (closed loop, 64 calls in flight, 20,000 users, a fresh server with the users set up);
#   - in process: each build's BM_Engine_Authorize1MUsers (1,000,000 users, the shipped rules).
# Prints the medians and the ratios AFTER/BEFORE, paired by round.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: tools/bench-ab.sh BEFORE_BIN AFTER_BIN [ROUNDS]" >&2
  exit 2
fi
before=$(realpath "$1") after=$(realpath "$2") rounds=${3:-5}
for bin in "$before" "$after"; do
  for program in vigild engine_benchmark; do
    [ -x "$bin/$program" ] || { echo "bench-ab: no $bin/$program" >&2; exit 2; }
  done
done
for program in vigil-bench vigil-baseline; do
  [ -x "$after/$program" ] || { echo "bench-ab: no $after/$program" >&2; exit 2; }
done

# $out, start, stop, free_port.
source tools/bench-lib.sh
users=20000
port=$(free_port)
load() {  # load NAME ARGS...: one closed-loop run at the highest rate; its JSON in $out/NAME.json
  local name=$1
  shift
  "$after/vigil-bench" --target "127.0.0.1:$port" --users "$users" --zipf 0.9 --concurrency 64 \
    --json --progress=false --duration-s 10 --warmup-s 2 "$@" >"$out/$name.json"
}
vigild_round() {  # vigild_round NAME BIN
  start vigild "$port" "$2/vigild" --listen "127.0.0.1:$port" --admin-listen "" --rules rules \
    --rules-poll-ms 0
  "$after/vigil-bench" --target "127.0.0.1:$port" --users "$users" --duration-s 0.1 \
    --warmup-s 0 --json --progress=false >/dev/null  # sets the users up
  load "$1" --setup=false
  stop "$vigild_pid"
}
core_round() {  # core_round NAME BIN
  "$2/engine_benchmark" --benchmark_format=json --benchmark_filter='BM_Engine_Authorize1MUsers/' \
    >"$out/$1.json"
}

for round in $(seq "$rounds"); do
  echo "== round $round of $rounds =="
  start baseline "$port" "$after/vigil-baseline" --listen "127.0.0.1:$port"
  load "baseline-$round" --setup=false
  stop "$baseline_pid"
  vigild_round "before-$round" "$before"
  vigild_round "after-$round" "$after"
  core_round "core-before-$round" "$before"
  core_round "core-after-$round" "$after"
done

python3 - "$out" "$rounds" <<'PY'
import json, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def rate(name): return json.load(open(f"{out}/{name}.json"))["rate"]
def core(name):
    benchmarks = json.load(open(f"{out}/{name}.json"))["benchmarks"]
    # The benchmark reports the median and p99 of its decisions as counters (ns).
    b = benchmarks[0]
    return b["p50_ns"], b["p99_ns"]
rows = []
for r in range(1, rounds + 1):
    base, bef, aft = rate(f"baseline-{r}"), rate(f"before-{r}"), rate(f"after-{r}")
    (cb, pb), (ca, pa) = core(f"core-before-{r}"), core(f"core-after-{r}")
    rows.append((base, bef, aft, cb, ca, pb, pa))
    print(f"round {r}: baseline {base:,.0f}/s  before {bef:,.0f}/s ({bef/base:.3f})  "
          f"after {aft:,.0f}/s ({aft/base:.3f})  core median before {cb:,.0f} ns, after {ca:,.0f} ns; "
          f"p99 before {pb:,.0f} ns, after {pa:,.0f} ns")
med = lambda i: statistics.median(row[i] for row in rows)
paired = lambda f: statistics.median(f(row) for row in rows)
print()
print(f"medians of {rounds} rounds:")
print(f"  throughput vs baseline: before {paired(lambda x: x[1]/x[0]):.3f}, "
      f"after {paired(lambda x: x[2]/x[0]):.3f}; after/before paired {paired(lambda x: x[2]/x[1]):.3f}")
print(f"  core decision median: before {med(3):,.0f} ns, after {med(4):,.0f} ns; "
      f"after/before paired {paired(lambda x: x[4]/x[3]):.3f}")
print(f"  core decision p99: before {med(5):,.0f} ns, after {med(6):,.0f} ns")
PY
