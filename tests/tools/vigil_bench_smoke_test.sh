#!/usr/bin/env bash
# Two seconds of vigil-bench against vigild and against vigil-baseline, closed and open loop:
# the harness must run, load the servers without errors and report what it measured.
#   vigil_bench_smoke_test.sh VIGILD BASELINE VIGIL_BENCH RULES_DIR
set -uo pipefail
vigild=$1 baseline=$2 bench=$3 rules=$4
work=$(mktemp -d)
trap 'kill $vigild_pid $baseline_pid 2>/dev/null; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
vport=$(port) bport=$(port)
"$vigild" --listen "127.0.0.1:$vport" --admin-listen 127.0.0.1:0 --rules "$rules" --rules-poll-ms 0 2>"$work/vigild.log" &
vigild_pid=$!
"$baseline" --listen "127.0.0.1:$bport" 2>"$work/baseline.log" &
baseline_pid=$!
sleep 0.5
failures=0 checks=0
run() {  # run NAME PATTERN ARGS...: vigil-bench must exit 0 and print PATTERN
  local name=$1 pattern=$2
  shift 2
  local out
  out=$("$bench" --progress=false --warmup-s 0.5 --duration-s 1 "$@" 2>&1)
  local rc=$?
  checks=$((checks + 1))
  if [ "$rc" -ne 0 ] || ! grep -Eq "$pattern" <<<"$out"; then
    echo "FAIL: $name (exit $rc):"; sed 's/^/    /' <<<"$out"; failures=$((failures + 1))
  else
    echo "ok: $name: $(grep -E 'rate|"rate"' <<<"$out" | head -1 | sed 's/^ *//')"
  fi
}
run "closed loop against vigild" '^  rate +[0-9]+ Authorize calls/s' --target "127.0.0.1:$vport" --users 200 \
  --concurrency 16
run "open loop against vigild, JSON" '"p99_ms": [0-9.]+' --target "127.0.0.1:$vport" --users 200 \
  --mode open --rate 500 --json
run "a gateway's traffic: elderly users, mandate grants and revocations, attack bursts" \
  'attacks +[0-9]+ charges in bursts: .*DECLINE' --target "127.0.0.1:$vport" --users 300 \
  --concurrency 16 --elderly-share 0.2 --mandate-ops-share 0.05 --attack-every 300 \
  --attack-charges 100
run "mandate operations are counted" 'mandate ops +[1-9][0-9]* grants and revocations' \
  --target "127.0.0.1:$vport" --users 300 --concurrency 16 --mandate-ops-share 0.05
run "closed loop against the baseline" 'decisions +APPROVE 100.0%' --target "127.0.0.1:$bport" \
  --setup=false --concurrency 16
echo "vigil-bench smoke: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
