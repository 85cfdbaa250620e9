#!/usr/bin/env bash
# Runs README.md's worked example against a fresh vigild on a free port, checks what each
# command prints and how it exits, then stops vigild with SIGTERM and checks it exits 0.
#   readme_example_test.sh VIGILD VIGILCTL SOURCE_DIR
set -uo pipefail
vigild=$1
vigilctl=$2
source_dir=$3
work=$(mktemp -d)
trap 'kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The flags as API.md spells them.
"$vigild" --listen "127.0.0.1:$port" --admin-listen 127.0.0.1:0 --rules "$source_dir/rules" --data-dir "$work/data" \
  --trust-client-time 2>"$work/vigild.log" &
pid=$!

failures=0
checks=0
ctl() { timeout 20 "$vigilctl" --server "127.0.0.1:$port" "$@"; }
# expect EXIT_CODE PATTERN -- COMMAND...: runs vigilctl, checks exit code and that the combined
# output matches the extended regex PATTERN.
expect() {
  local want_rc=$1 pattern=$2
  shift 3
  local out rc
  out=$(ctl "$@" 2>&1)
  rc=$?
  checks=$((checks + 1))
  if [ "$rc" -ne "$want_rc" ] || ! grep -Eq -- "$pattern" <<<"$out"; then
    echo "FAIL: vigilctl $*"
    echo "  wanted exit $want_rc and /$pattern/, got exit $rc:"
    sed 's/^/    /' <<<"$out"
    failures=$((failures + 1))
  fi
}

for _ in $(seq 50); do ctl health >/dev/null 2>&1 && break; sleep 0.1; done

expect 0 '^SERVING$' -- health
expect 1 'FAILED_PRECONDITION: consent.explicit_opt_in' -- grant --user alice --merchant coffee-42
expect 0 '^mdt_[0-9a-f]+  ACTIVE  user alice  merchant coffee-42' -- \
  grant --user alice --merchant coffee-42 --opt-in --terms 2026-01
expect 0 '^APPROVE  transaction t-1  decision d_' -- \
  authorize --user alice --merchant coffee-42 --amount 25.50 --txn t-1
expect 0 '^CHALLENGE  transaction t-2  decision d_' -- \
  authorize --user alice --merchant coffee-42 --amount 1200 --txn t-2
expect 0 '^  PER_TXN_LIMIT \(limits.per_txn\): the amount is above' -- \
  authorize --user alice --merchant coffee-42 --amount 1200 --txn t-2
expect 0 '^APPROVE  transaction t-1  decision d_' -- \
  authorize --user alice --merchant coffee-42 --amount 25.50 --txn t-1
expect 0 '^revoked 1 mandate\(s\)' -- revoke-all --user alice --reason "lost phone"
expect 0 'MANDATE_REVOKED \(mandate.revoked\)' -- \
  authorize --user alice --merchant coffee-42 --amount 25.50 --txn t-3
# What alice's app backend tells her: each notice comes until it is acked.
expect 0 '^2  .*  ALL_MANDATES_REVOKED  user alice  Your 1 password-free payment authorization was cancelled' -- \
  watch --consumer app --count 2 --noack
expect 0 '^1  .*  MANDATE_GRANTED  user alice  Your password-free payment authorization for merchant coffee-42' -- \
  watch --consumer app --count 2
expect 0 '^user grandpa  born 1950-05-01' -- profile put --user grandpa --birth-date 1950-05-01
expect 1 'FAILED_PRECONDITION: user_id: the user is 60 or older' -- \
  grant --user grandpa --merchant coffee-42 --opt-in --terms 2026-01
# --trust-client-time: the event time decides. 100 days after the grant the mandate is dormant.
expect 0 '^mdt_' -- grant --user carol --merchant '*' --opt-in --terms 2026-01
expect 0 'MANDATE_DORMANT' -- authorize --user carol --merchant corner-shop --amount 1 \
  --event-time-ms $(( $(date +%s%3N) + 100 * 86400000 ))
# Acked notices do not come again; carol's grant is the next.
expect 0 '"cursor":"3","kind":"MANDATE_GRANTED","user_id":"carol"' -- \
  --json watch --consumer app --count 1
expect 1 'INVALID_ARGUMENT: consumer' -- watch --consumer 'no spaces'
# --json and errors for bad input.
expect 0 '"code": "NO_MANDATE"' -- --json authorize --user bob --merchant coffee-42 --amount 1
expect 1 'INVALID_ARGUMENT: currency' -- \
  authorize --user alice --merchant coffee-42 --amount 1 --currency cny
expect 2 'unknown command' -- frobnicate

# The decision log, as JSON Lines: every Authorize above with its inputs and answer.
out=$(ctl export-decisions 2>"$work/export.err")
rc=$?
checks=$((checks + 1))
lines=$(grep -c '"transaction_id":"t-1"' <<<"$out")
if [ "$rc" -ne 0 ] || [ "$lines" -ne 1 ] || ! grep -q '"decision":"CHALLENGE"' <<<"$out" ||
   ! grep -q "exported [0-9]* decision log entries" "$work/export.err"; then
  echo "FAIL: vigilctl export-decisions exited $rc:"; sed 's/^/    /' <<<"$out" "$work/export.err"; failures=$((failures + 1))
fi

# SIGHUP reloads the rules.
kill -HUP "$pid"
checks=$((checks + 1))
for _ in $(seq 50); do grep -q "rules reloaded" "$work/vigild.log" && break; sleep 0.1; done
if ! grep -q "rules reloaded" "$work/vigild.log"; then
  echo "FAIL: SIGHUP did not reload the rules"; cat "$work/vigild.log"; failures=$((failures + 1))
fi

kill -TERM "$pid"
wait "$pid"
rc=$?
checks=$((checks + 1))
if [ "$rc" -ne 0 ] || ! grep -q "stopped: vigild stopped" "$work/vigild.log"; then
  echo "FAIL: vigild exited $rc on SIGTERM"; cat "$work/vigild.log"; failures=$((failures + 1))
fi
# A rule set with a mistake stops vigild at start, naming file:line:column.
cp -r "$source_dir/rules" "$work/broken-rules"
sed -i 's/when: mandate.dormant$/when: mandate.dormnt/' "$work/broken-rules/policy.yaml"
line=$(grep -n 'mandate.dormnt' "$work/broken-rules/policy.yaml" | cut -d: -f1)
out=$("$vigild" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 --rules "$work/broken-rules" 2>&1)
rc=$?
checks=$((checks + 1))
if [ "$rc" -eq 0 ] || ! grep -q "broken-rules/policy.yaml:$line:11: error: unknown name \"mandate.dormnt\"" <<<"$out"; then
  echo "FAIL: vigild with broken rules exited $rc:"; sed 's/^/    /' <<<"$out"; failures=$((failures + 1))
fi

echo "readme example: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
