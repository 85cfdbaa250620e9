#!/usr/bin/env bash
# vigil-replay on a decision log recorded from a real vigild under a gateway's traffic (vigil-bench:
# elderly users, mandate grants, pauses and revocations, attack bursts) and outcomes that release
# and reactivate: the rules that made the log decide every charge again alike; a lowered cap
# changes decisions; a malformed line is reported with its number, skipped or (--strict) fatal.
#   replay_test.sh VIGILD VIGILCTL VIGIL_BENCH VIGIL_REPLAY RULES_DIR
set -uo pipefail
vigild=$1 vigilctl=$2 bench=$3 replay=$4 rules=$5
work=$(mktemp -d)
trap 'kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$vigild" --listen "127.0.0.1:$port" --admin-listen "" --rules "$rules" --rules-poll-ms 0 \
  --data-dir "$work/data" 2>"$work/vigild.log" &
pid=$!
for _ in $(seq 100); do "$vigilctl" --server "127.0.0.1:$port" health >/dev/null 2>&1 && break; sleep 0.1; done
failures=0 checks=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ctl() { "$vigilctl" --server "127.0.0.1:$port" "$@"; }
traffic() {
  "$bench" --target "127.0.0.1:$port" --progress=false --warmup-s 0 --duration-s 1.5 --users 300 \
    --concurrency 16 --elderly-share 0.3 --mandate-ops-share 0.05 --attack-every 400 \
    --attack-charges 60 "$@" >"$work/bench.log" 2>&1 || fail "vigil-bench: $(tail -3 "$work/bench.log")"
}
traffic
# Outcomes for some of those charges: releases and strong authentications, which the charges
# after them are decided on.
ctl export-decisions --since 0 >"$work/first.jsonl" 2>/dev/null
python3 - "$work/first.jsonl" >"$work/outcomes" <<'PY'
import json, sys
charges = [json.loads(l) for l in open(sys.argv[1]) if '"request"' in l]
approved = [c["transaction_id"] for c in charges if c["response"]["decision"] == "APPROVE"]
challenged = [c["transaction_id"] for c in charges if c["response"]["decision"] == "CHALLENGE"]
for txn in approved[::7][:40]: print(txn, "REVERSED")
for txn in challenged[::5][:40]: print(txn, "STRONG_AUTH_PASSED")
PY
while read -r txn outcome; do
  ctl outcome --txn "$txn" --outcome "$outcome" >/dev/null || fail "outcome $outcome for $txn"
done <"$work/outcomes"
traffic --setup=false --seed 2
ctl export-decisions --since 0 >"$work/log.jsonl" 2>/dev/null || fail "export-decisions"

kill -TERM "$pid"; wait "$pid"

# The same rules: nothing changes.
checks=$((checks + 1))
"$replay" --log "$work/log.jsonl" --rules "$rules" --json >"$work/same.json" 2>"$work/same.err" ||
  fail "vigil-replay exited $?: $(cat "$work/same.err")"
python3 - "$work/log.jsonl" "$work/same.json" <<'PY' || failures=$((failures + 1))
import collections, json, sys
log = [json.loads(l) for l in open(sys.argv[1])]
report = json.load(open(sys.argv[2]))
charges = [e for e in log if "request" in e]
decisions = collections.Counter(c["response"]["decision"] for c in charges)
kinds = {k: sum(1 for e in log if k in e) for k in ("outcome", "mandate", "profile")}
problems = []
if len(decisions) < 2 or min(kinds.values()) == 0:
    problems.append(f"the log is too plain to prove anything: {dict(decisions)}, {kinds}")
if report["total"] != len(charges): problems.append(f"total {report['total']} != {len(charges)} charges")
for key in ("changed", "reasons_changed", "refused", "malformed"):
    if report[key] != 0: problems.append(f"{key} = {report[key]}")
if report["transitions"]: problems.append(f"transitions {report['transitions']}")
if report["rule_hits"] != report["logged_rule_hits"] or not report["rule_hits"]:
    problems.append(f"rule hits {report['rule_hits']} != logged {report['logged_rule_hits']}")
if problems:
    sys.exit("FAIL: replay under the same rules: " + "; ".join(problems) +
             "\n" + json.dumps(report["sample"][:3], indent=1) + "\n" + "\n".join(report["refusals"][:5]))
print(f"ok: {len(charges)} charges from a real vigild ({dict(decisions)}; "
      f"{kinds['outcome']} outcomes, {kinds['mandate']} mandate changes, {kinds['profile']} profiles)"
      " replayed under the same rules: none changed")
PY

# A lower standard per-transaction cap: APPROVE->CHALLENGE appears, and the text report says so.
checks=$((checks + 1))
cp -r "$rules" "$work/lower"
sed -i 's/standard: {per_txn: 1000.00 CNY/standard: {per_txn: 20.00 CNY/' "$work/lower/policy.yaml"
out=$("$replay" --log "$work/log.jsonl" --rules "$work/lower" 2>&1)
if ! grep -Eq '^  APPROVE->CHALLENGE +[1-9][0-9]*$' <<<"$out" ||
   ! grep -Eq '^  limits.per_txn +[0-9]+ +[0-9]+ +\+[1-9][0-9]*$' <<<"$out"; then
  fail "a lower cap changed nothing:"; sed 's/^/    /' <<<"$out"
else
  echo "ok: a lower cap: $(grep -m1 'decided differently' <<<"$out")"
fi

# A malformed line 5, in the log's first 2,000 lines: reported with its number, skipped; --strict
# stops there.
checks=$((checks + 2))
head -n 2000 "$work/log.jsonl" | sed '5s/.*/{"time_ms": "soon",/' >"$work/bad.jsonl"
"$replay" --log "$work/bad.jsonl" --rules "$rules" --json >"$work/bad.json" 2>"$work/bad.err"
rc=$?
if [ "$rc" -ne 0 ] || ! grep -q "bad.jsonl:5: not a decision record" "$work/bad.err" ||
   ! python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(not (r["malformed"] == 1 and r["malformed_lines"][0]["line"] == 5))' "$work/bad.json"; then
  fail "a malformed line without --strict (exit $rc): $(cat "$work/bad.err")"
fi
"$replay" --log "$work/bad.jsonl" --rules "$rules" --strict >"$work/strict.out" 2>"$work/strict.err"
rc=$?
if [ "$rc" -ne 1 ] || ! grep -q "bad.jsonl:5: " "$work/strict.err" ||
   ! grep -q "stopped at line 5 (--strict)" "$work/strict.err" || [ -s "$work/strict.out" ]; then
  fail "--strict on a malformed line (exit $rc): $(cat "$work/strict.err")"
fi

checks=$((checks + 1))
"$replay" --log "$work/log.jsonl" >/dev/null 2>&1
rc=$?
[ "$rc" -eq 2 ] || fail "vigil-replay without --rules exited $rc, not 2"

echo "vigil-replay: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
