#!/usr/bin/env bash
# tools/bench-replay.sh: how fast vigil-replay decides a log, against the engine's own decision
# rate, on one core, in the same run.
#
# Records a decision log of at least VIGIL_REPLAY_CHARGES (default 1,000,000) charges from a
# Release vigild under vigil-bench's traffic (100,000 users, elderly ones, grants and
# revocations, attack bursts), exports it, then alternates ROUNDS (default 3) of
#   - vigil-replay on the log under the same rules, on two cores (it decides on one thread and
#     reads and parses the log on another),
#   - the same pinned to one core, and
#   - engine_benchmark's BM_Engine_Authorize1MUsers (one thread, 1M users), pinned to one core,
# and prints the medians and their ratios. VIGIL_BENCH_SKIP_BUILD=1 uses build-release as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/bench-lib.sh
rounds=${1:-3}
charges=${VIGIL_REPLAY_CHARGES:-1000000}
core=${VIGIL_BENCH_CORE:-1}
bin=build-release/bin
if [ -z "${VIGIL_BENCH_SKIP_BUILD:-}" ]; then
  VIGIL_TARGETS="vigild vigil-bench vigilctl vigil-replay engine_benchmark" \
    tools/build.sh build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
fi

port=$(free_port)
start vigild "$port" "$bin/vigild" --listen "127.0.0.1:$port" --admin-listen "" --rules rules \
  --data-dir "$out/data" --nofsync --rules-poll-ms 0
began=$(date +%s%3N)
seed=1 setup=true
log=$out/log.jsonl
recorded=0
while [ "$recorded" -lt "$charges" ]; do
  "$bin/vigil-bench" --target "127.0.0.1:$port" --progress=false --warmup-s 0 --duration-s 30 \
    --users 100000 --concurrency 64 --elderly-share 0.2 --mandate-ops-share 0.01 \
    --attack-every 2000 --attack-charges 100 --setup="$setup" --seed "$seed" >/dev/null
  seed=$((seed + 1)) setup=false
  # vigild exports at most a million entries a call: a minute at a time.
  : >"$log"
  now=$(date +%s%3N)
  for ((since = began - 1000; since < now + 1000; since += 60000)); do
    "$bin/vigilctl" --server "127.0.0.1:$port" export-decisions --since "$since" \
      --until "$((since + 60000))" >>"$log" 2>/dev/null
  done
  recorded=$(grep -c '"request"' "$log")
  echo "bench-replay: $recorded charges recorded" >&2
done
stop "$vigild_pid"
lines=$(wc -l <"$log")
echo "bench-replay: $lines log lines, $(du -h "$log" | cut -f1), $recorded charges" >&2

replay() {  # replay TIMES_FILE [taskset ARGS...]
  local times=$1
  shift
  "$@" "$bin/vigil-replay" --log "$log" --rules rules --json >"$out/replay.json" 2>"$out/replay.err"
  grep -o '[0-9]* lines in [0-9.]* s' "$out/replay.err" >>"$times"
}
for ((round = 1; round <= rounds; round++)); do
  replay "$out/replay2.times"
  replay "$out/replay1.times" taskset -c "$core"
  taskset -c "$core" "$bin/engine_benchmark" --benchmark_filter='BM_Engine_Authorize1MUsers/' \
    --benchmark_format=json >"$out/engine-$round.json" 2>/dev/null
  echo "bench-replay: round $round: replay $(tail -1 "$out/replay2.times") on two cores," \
    "$(tail -1 "$out/replay1.times") on one" >&2
done

python3 - "$out" "$rounds" "$recorded" <<'PY'
import json, statistics, sys
out, rounds, charges = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def rates(name):
    rates = []
    for line in open(f"{out}/{name}"):
        n, _, _, seconds, _ = line.split()
        rates.append(int(n) / float(seconds))
    return rates
engine = []
for r in range(1, rounds + 1):
    bench = json.load(open(f"{out}/engine-{r}.json"))["benchmarks"][0]
    engine.append(1e9 / bench["real_time"] if bench["time_unit"] == "ns" else None)
report = json.load(open(f"{out}/replay.json"))
lines_per_charge = sum(1 for _ in open(f"{out}/log.jsonl")) / charges
e = statistics.median(engine)
print(f"log: {charges} charges, {lines_per_charge:.3f} lines a charge; replay under the same "
      f"rules: changed {report['changed']}, reasons changed {report['reasons_changed']}")
print(f"engine, BM_Engine_Authorize1MUsers, one core: {e:9.0f} decisions/s  "
      f"(rounds: {', '.join(f'{x:.0f}' for x in engine)})")
for name, label in (("replay2.times", "two cores"), ("replay1.times", "one core")):
    replay = rates(name)
    r = statistics.median(replay)
    print(f"vigil-replay, {label:9}: {r:9.0f} lines/s = {r / lines_per_charge:9.0f} charges/s  "
          f"(rounds: {', '.join(f'{x:.0f}' for x in replay)}); "
          f"charges / engine decisions: {r / lines_per_charge / e:.3f}")
PY
