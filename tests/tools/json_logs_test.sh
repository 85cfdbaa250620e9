#!/usr/bin/env bash
# vigild --log-format json writes one JSON object a line (time, level, event, message) for its
# start, a reload, and its shutdown; an unknown format is refused at start.
#   json_logs_test.sh VIGILD RULES_DIR
set -uo pipefail
vigild=$1 rules=$2
work=$(mktemp -d)
trap 'kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
"$vigild" --listen 127.0.0.1:0 --admin-listen "" --rules "$rules" --rules-poll-ms 0 \
  --log-format json 2>"$work/log" &
pid=$!
for _ in $(seq 100); do grep -q '"started"' "$work/log" && break; sleep 0.1; done
kill -HUP "$pid"
for _ in $(seq 100); do grep -q '"rules_reloaded"' "$work/log" && break; sleep 0.1; done
kill -TERM "$pid"
wait "$pid"
rc=$?
failures=0
if [ "$rc" -ne 0 ]; then echo "FAIL: vigild exited $rc"; failures=$((failures + 1)); fi
python3 - "$work/log" <<'PY' || failures=$((failures + 1))
import json, sys
events = []
for number, line in enumerate(open(sys.argv[1]), 1):
    try:
        entry = json.loads(line)
    except ValueError:
        sys.exit(f"FAIL: line {number} is not JSON: {line!r}")
    missing = {"time", "level", "event", "message"} - entry.keys()
    if missing:
        sys.exit(f"FAIL: line {number} lacks {sorted(missing)}: {line!r}")
    events.append(entry["event"])
wanted = ["started", "sighup", "rules_reloaded", "stopping", "stopped"]
if [e for e in events if e in wanted] != wanted:
    sys.exit(f"FAIL: events {events}, wanted {wanted} in order")
print(f"ok: {len(events)} lines, each one JSON object: {', '.join(events)}")
PY
out=$("$vigild" --log-format xml 2>&1)
rc=$?
if [ "$rc" -ne 2 ] || ! grep -q 'choose text or json' <<<"$out"; then
  echo "FAIL: --log-format xml exited $rc: $out"; failures=$((failures + 1))
else
  echo "ok: --log-format xml is refused: $out"
fi
echo "json logs: $((2 - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
