#!/usr/bin/env bash
# Builds Vigil in Release, runs the benchmark suite and writes the figures:
#   bench/results.json  every figure, raw (the keys tools and CI read are at the top level)
#   bench/RESULTS.md    the section between the "tools/bench.sh" markers, for people
#
#   tools/bench.sh              the full suite (about 11 minutes on 2 cores, with the
#                               overload and TLS runs of tools/bench-overload.sh at the end)
#   VIGIL_BENCH_QUICK=1 tools/bench.sh   one short repetition of everything (about a minute)
#
# Over gRPC it starts vigil-baseline (answers Authorize at once) and vigild (memory only, then
# with the embedded store and fsync), loads them with vigil-bench, and stops them. Closed-loop
# and fixed-rate runs alternate between the baseline and vigild, so that both see the same
# machine; figures are medians over the repetitions. Then the in-process micro-benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
echo "== build (Release) =="
tools/build.sh build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
bin=build-release/bin

quick=${VIGIL_BENCH_QUICK:-0}
if [ "$quick" = 1 ]; then
  reps=1 duration=3 warmup=1 users=2000 gateway_users=5000 micro_reps=1 one_m_reps=1
  open_reps=1 open_duration=3 open_warmup=1
else
  reps=5 duration=10 warmup=2 users=20000 gateway_users=100000 micro_reps=5 one_m_reps=3
  # The fixed-rate p99 is mostly the machine's stalls, which come and go over seconds: many short
  # runs, alternating, let both servers meet the same weather, and the median of ten is steadier
  # than that of five.
  open_reps=10 open_duration=4 open_warmup=1
fi

# $out, start, stop, free_port: shared with tools/bench-overload.sh.
source tools/bench-lib.sh
bench() {  # bench OUTPUT ARGS...: one vigil-bench run, its JSON kept in $out/OUTPUT.json
  local name=$1
  shift
  # How busy the whole machine (client and server, all cores) was during the run, from the
  # kernel's CPU time counters: it tells a latency measured near saturation from one that is not.
  local cpu_before
  cpu_before=$(head -1 /proc/stat)
  if ! "$bin/vigil-bench" --json --progress=false --duration-s "$duration" --warmup-s "$warmup" \
      "$@" >"$out/$name.json" 2>"$out/$name.err"; then
    echo "bench: vigil-bench $* failed:" >&2
    cat "$out/$name.json" "$out/$name.err" >&2
    exit 1
  fi
  python3 - "$out/$name.json" "$name" "$cpu_before" "$(head -1 /proc/stat)" <<'PY'
import json, sys
path, name, before, after = sys.argv[1:5]
# cpu user nice system idle iowait irq softirq steal ...: busy is everything but idle and iowait.
ticks = [int(a) - int(b) for a, b in zip(after.split()[1:9], before.split()[1:9])]
r = json.load(open(path))
r["machine_busy"] = round(1 - (ticks[3] + ticks[4]) / max(1, sum(ticks)), 3)
json.dump(r, open(path, "w"), indent=2)
print(f"   {name:<22} {r['rate']:>9.0f} calls/s  p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms"
      f"  machine {r['machine_busy']:.0%} busy")
PY
}

baseline_port=$(free_port) vigild_port=$(free_port) store_port=$(free_port)
start baseline "$baseline_port" "$bin/vigil-baseline" --listen "127.0.0.1:$baseline_port"
start vigild "$vigild_port" "$bin/vigild" --listen "127.0.0.1:$vigild_port" --admin-listen 127.0.0.1:0 --rules rules \
  --rules-poll-ms 0
baseline=(--target "127.0.0.1:$baseline_port" --setup=false --users "$users" --zipf 0.9)
vigild=(--target "127.0.0.1:$vigild_port" --users "$users" --zipf 0.9)

setup_users() {
  echo "   setting up $users users in vigild (profile and general mandate each)"
  "$bin/vigil-bench" "${vigild[@]}" --progress=false --duration-s 0.1 --warmup-s 0 \
    --json >/dev/null
}

restart_vigild() {  # a fresh vigild with the users set up, so that every run starts alike
  stop "$vigild_pid"
  start vigild "$vigild_port" "$bin/vigild" --listen "127.0.0.1:$vigild_port" --admin-listen 127.0.0.1:0 --rules rules \
    --rules-poll-ms 0
  setup_users
}

echo "== gRPC: highest rate, closed loop (64 calls in flight), baseline and vigild alternating =="
setup_users
for rep in $(seq "$reps"); do
  bench "closed-baseline-$rep" "${baseline[@]}"
  # Each run at the highest rate leaves ~600,000 idempotency records behind: every run starts
  # from the same state instead of carrying the earlier runs' records.
  [ "$rep" = 1 ] || restart_vigild
  bench "closed-vigild-$rep" "${vigild[@]}" --setup=false
done
half=$(python3 - "$out" "$reps" <<'PY'
import json, statistics, sys
out, reps = sys.argv[1], int(sys.argv[2])
rates = [json.load(open(f"{out}/closed-vigild-{r}.json"))["rate"] for r in range(1, reps + 1)]
print(int(statistics.median(rates) / 2))
PY
)
echo "== gRPC: fixed rate of $half calls/s (half of vigild's highest), open loop, alternating"
echo "   baseline, vigild, baseline again =="
# A fresh vigild, so that this phase does not carry the records the closed loop left.
restart_vigild
for rep in $(seq "$open_reps"); do
  duration=$open_duration warmup=$open_warmup bench "open-baseline-$rep" "${baseline[@]}" \
    --mode open --rate "$half"
  duration=$open_duration warmup=$open_warmup bench "open-vigild-$rep" "${vigild[@]}" \
    --setup=false --mode open --rate "$half"
  # The baseline once more: how far its p99 strays from itself shows how much of the ratio
  # above is the machine's weather rather than Vigil.
  duration=$open_duration warmup=$open_warmup bench "open-baseline-again-$rep" \
    "${baseline[@]}" --mode open --rate "$half"
done
echo "== gRPC: a gateway's traffic on vigild at $half calls/s: fresh users, 10% elderly, =="
echo "   1% mandate grants and revocations, an attack burst every 20,000 charges"
bench "gateway-vigild" --target "127.0.0.1:$vigild_port" --users "$gateway_users" \
  --user-prefix gateway-user- --zipf 0.9 --mode open --rate "$half" --elderly-share 0.1 \
  --mandate-ops-share 0.01 --attack-every 20000 --attack-charges 200 --seed 2

echo "== gRPC: vigild with the embedded store (--fsync), closed loop =="
mkdir "$out/data"
start vigild-store "$store_port" "$bin/vigild" --listen "127.0.0.1:$store_port" --admin-listen 127.0.0.1:0 --rules rules \
  --rules-poll-ms 0 --data-dir "$out/data" --fsync
bench "closed-vigild-store" --target "127.0.0.1:$store_port" --users "$users" --zipf 0.9

# The servers are done: stop them (and RocksDB's background work) before measuring in process.
for pid in "${pids[@]}"; do stop "$pid"; done
pids=()

echo "== in-process micro-benchmarks =="
micro=(--benchmark_format=json --benchmark_repetitions="$micro_reps")
"$bin/engine_benchmark" "${micro[@]}" \
  --benchmark_filter='HotUser|IdempotentRetry|WindowUpdate|SweepStep|TwoThreads' \
  >"$out/engine.json"
"$bin/rule_set_benchmark" "${micro[@]}" >"$out/rules.json"
echo "   1,000,000 users, compiled rules ($one_m_reps runs of a million decisions)"
"$bin/engine_benchmark" --benchmark_format=json --benchmark_repetitions="$one_m_reps" \
  --benchmark_filter='BM_Engine_Authorize1MUsers/' >"$out/engine-1m.json"
echo "   1,000,000 users, hand-written rules ($one_m_reps runs)"
"$bin/engine_benchmark" --benchmark_format=json --benchmark_repetitions="$one_m_reps" \
  --benchmark_filter='BM_Engine_Authorize1MUsersHandwritten/' >"$out/engine-1m-handwritten.json"

echo "== writing bench/results.json and bench/RESULTS.md =="
python3 bench/report.py "$out" "$reps" "$open_reps" "$users" "$quick"

echo "== overload and TLS (tools/bench-overload.sh, against vigild's highest rate in its own run) =="
VIGIL_BENCH_SKIP_BUILD=1 tools/bench-overload.sh
