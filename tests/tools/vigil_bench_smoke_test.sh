#!/usr/bin/env bash
# Two seconds of vigil-bench against vigild and against vigil-baseline, closed and open loop:
# the harness must run, load the servers without errors and report what it measured.
#   vigil_bench_smoke_test.sh VIGILD BASELINE VIGIL_BENCH RULES_DIR
set -uo pipefail
vigild=$1 baseline=$2 bench=$3 rules=$4
work=$(mktemp -d)
trap 'kill $vigild_pid $baseline_pid 2>/dev/null; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
vport=$(port) bport=$(port) sport=$(port)
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
run "goodput within a deadline and one-click cancels timed during the load" \
  'revoke-all +[1-9][0-9]* one-click cancels, p50 [0-9.]+ ms' --target "127.0.0.1:$vport" \
  --users 200 --concurrency 16 --deadline-ms 100 --revoke-all-every-ms 50
# A server that never answers: the run still ends at its duration, each call at its deadline.
python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", '"$sport"')); s.listen(64); conns = []
end = time.time() + 20
while time.time() < end:
    s.settimeout(0.2)
    try: conns.append(s.accept()[0])
    except OSError: pass
' &
silent_pid=$!
sleep 0.3
checks=$((checks + 1))
started=$(date +%s)
out=$("$bench" --progress=false --warmup-s 0 --duration-s 1 --deadline-ms 200 --setup=false \
  --target "127.0.0.1:$sport" --concurrency 8 2>&1)
took=$(($(date +%s) - started))
kill "$silent_pid" 2>/dev/null
if [ "$took" -gt 5 ] || ! grep -Eq 'goodput +0 answers/s' <<<"$out"; then
  echo "FAIL: against a server that never answers, vigil-bench took ${took}s:"
  sed 's/^/    /' <<<"$out"; failures=$((failures + 1))
else
  echo "ok: against a server that never answers, vigil-bench ended in ${took}s with goodput 0"
fi
run "closed loop against the baseline" 'decisions +APPROVE 100.0%' --target "127.0.0.1:$bport" \
  --setup=false --concurrency 16
echo "vigil-bench smoke: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
