#!/usr/bin/env bash
# Measures vigild under overload and what TLS costs, each against a baseline measured in the same
# run, and writes bench/overload.json (every figure) and a table on standard output:
#
#   tools/bench-overload.sh            about 4 minutes on 2 cores
#   VIGIL_BENCH_QUICK=1 tools/bench-overload.sh
#
#  1. vigild's highest rate: closed loop, 64 calls in flight (the same as tools/bench.sh).
#  2. A closed-loop flood: 16x more calls in flight than --max-inflight, every call with a 100 ms
#     deadline; meanwhile a user's one-click cancel (RevokeAllMandates) every 50 ms on a
#     connection of its own. Goodput is answers within the deadline per second.
#  3. An open-loop flood at 1.25x the highest rate, with the same deadline and cancels. The
#     client shares the two cores, so it reports the rate it really sent.
#  4. TLS: the highest rate of vigil-baseline in plaintext and with mutual TLS, and of vigild with
#     mutual TLS and the shipped authorization policy, against vigild in plaintext.
# vigild's peak memory (VmHWM) is read after each scenario; each starts a fresh vigild.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
if [ "${VIGIL_BENCH_SKIP_BUILD:-0}" != 1 ]; then
  echo "== build (Release) =="
  VIGIL_TARGETS="vigild vigil-bench vigil-baseline" \
    tools/build.sh build-release -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
bin=build-release/bin

if [ "${VIGIL_BENCH_QUICK:-0}" = 1 ]; then
  reps=1 duration=3 warmup=1 users=2000
else
  reps=3 duration=10 warmup=2 users=20000
fi
max_inflight=64 flood=$((16 * 64)) deadline_ms=100

# $out, start, stop, free_port: shared with tools/bench.sh.
source tools/bench-lib.sh
tools/make-certs.sh "$out/certs" >/dev/null
# The peak memory of the vigild running now.
peak_rss_mb() { awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$vigild_pid/status"; }
bench() {  # bench NAME ARGS...: one vigil-bench run; its JSON in $out/NAME.json
  local name=$1
  shift
  # vigil-bench exits 1 when calls failed, which overload makes happen on purpose.
  "$bin/vigil-bench" --json --progress=false --duration-s "$duration" --warmup-s "$warmup" \
    "$@" >"$out/$name.json" 2>"$out/$name.err" || true
  if ! python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$out/$name.json" 2>/dev/null; then
    echo "bench-overload: vigil-bench $* gave no result:" >&2
    cat "$out/$name.json" "$out/$name.err" >&2
    exit 1
  fi
  python3 - "$out/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"   {sys.argv[2]:<24} {r['rate']:>9.0f} answers/s  goodput {r['goodput']:>9.0f}/s"
      f"  p99 {r['p99_ms']:.2f} ms  errors {r['errors']}")
PY
}
record_rss() { echo "{\"peak_rss_mb\": $(peak_rss_mb)}" >"$out/$1.rss.json"; }

port=$(free_port)
vigild_flags=(--listen "127.0.0.1:$port" --admin-listen "" --rules rules --rules-poll-ms 0
              --max-inflight "$max_inflight")
target=(--target "127.0.0.1:$port" --users "$users" --zipf 0.9)
tls_client=(--tls-ca "$out/certs/ca.pem" --tls-cert "$out/certs/gateway.pem"
            --tls-key "$out/certs/gateway.key")
setup() {  # gives every user a profile and a general mandate (the charges of its 0.1 s may fail)
  if ! "$bin/vigil-bench" "${target[@]}" "$@" --progress=false --duration-s 0.1 --warmup-s 0 \
      --json >/dev/null 2>"$out/setup.err" && grep -q "setup failed" "$out/setup.err"; then
    cat "$out/setup.err" >&2
    exit 1
  fi
}

echo "== vigild's highest rate: closed loop, 64 calls in flight, $reps runs =="
for rep in $(seq "$reps"); do
  start vigild "$port" "$bin/vigild" "${vigild_flags[@]}"
  setup
  bench "highest-$rep" "${target[@]}" --setup=false --concurrency 64
  record_rss "highest-$rep"
  stop "$vigild_pid"
done
highest=$(python3 - "$out" "$reps" <<'PY'
import json, statistics, sys
out, reps = sys.argv[1], int(sys.argv[2])
print(int(statistics.median(json.load(open(f"{out}/highest-{r}.json"))["rate"]
                            for r in range(1, reps + 1))))
PY
)

echo "== closed-loop flood: $flood calls in flight, --max-inflight $max_inflight, ${deadline_ms} ms deadline =="
start vigild "$port" "$bin/vigild" "${vigild_flags[@]}"
setup
bench flood-closed "${target[@]}" --setup=false --concurrency "$flood" \
  --deadline-ms "$deadline_ms" --revoke-all-every-ms 50
record_rss flood-closed
stop "$vigild_pid"

echo "== open-loop flood at $((5 * highest / 4)) calls/s (1.25x the highest), ${deadline_ms} ms deadline =="
start vigild "$port" "$bin/vigild" "${vigild_flags[@]}"
setup
bench flood-open "${target[@]}" --setup=false --mode open --rate $((5 * highest / 4)) \
  --deadline-ms "$deadline_ms" --revoke-all-every-ms 50
record_rss flood-open
stop "$vigild_pid"

echo "== TLS: highest rates, plaintext and mutual TLS, $reps runs each, alternating =="
tls_server=(--tls-cert "$out/certs/server.pem" --tls-key "$out/certs/server.key"
            --tls-client-ca "$out/certs/ca.pem")
for rep in $(seq "$reps"); do
  start baseline "$port" "$bin/vigil-baseline" --listen "127.0.0.1:$port"
  bench "baseline-plain-$rep" --target "127.0.0.1:$port" --setup=false --users "$users" \
    --concurrency 64
  stop "$baseline_pid"
  start baseline "$port" "$bin/vigil-baseline" --listen "127.0.0.1:$port" "${tls_server[@]}"
  bench "baseline-mtls-$rep" --target "127.0.0.1:$port" --setup=false --users "$users" \
    --concurrency 64 "${tls_client[@]}"
  stop "$baseline_pid"
  start vigild "$port" "$bin/vigild" "${vigild_flags[@]}"
  setup
  bench "vigild-plain-$rep" "${target[@]}" --setup=false --concurrency 64
  stop "$vigild_pid"
  start vigild "$port" "$bin/vigild" "${vigild_flags[@]}" "${tls_server[@]}" \
    --authz-policy config/authz_policy.json
  # The setup grants mandates: the app's role; the charges are the gateway's.
  setup --tls-ca "$out/certs/ca.pem" --tls-cert "$out/certs/app.pem" \
    --tls-key "$out/certs/app.key"
  bench "vigild-mtls-$rep" "${target[@]}" --setup=false --concurrency 64 "${tls_client[@]}"
  stop "$vigild_pid"
done

python3 - "$out" "$reps" "$highest" "$flood" "$max_inflight" "$deadline_ms" <<'PY'
import json, os, platform, statistics, sys
out, reps, highest, flood, max_inflight, deadline_ms = sys.argv[1], *map(int, sys.argv[2:])
load = lambda name: json.load(open(os.path.join(out, name + ".json")))
runs = lambda kind: [load(f"{kind}-{r}") for r in range(1, reps + 1)]
med = lambda rs, key: statistics.median(r[key] for r in rs)
paired = lambda a, b: statistics.median(x["rate"] / y["rate"] for x, y in zip(a, b))
closed, opened = load("flood-closed"), load("flood-open")
result = {
    "highest_rate": highest,
    "highest_peak_rss_mb": statistics.median(load(f"highest-{r}.rss")["peak_rss_mb"]
                                             for r in range(1, reps + 1)),
    "max_inflight": max_inflight, "deadline_ms": deadline_ms,
    "flood_closed": dict(closed, in_flight=flood, peak_rss_mb=load("flood-closed.rss")["peak_rss_mb"],
                         goodput_vs_highest=round(closed["goodput"] / highest, 3)),
    "flood_open": dict(opened, peak_rss_mb=load("flood-open.rss")["peak_rss_mb"],
                       goodput_vs_highest=round(opened["goodput"] / highest, 3)),
    "tls": {
        "baseline_plain_rate": med(runs("baseline-plain"), "rate"),
        "baseline_mtls_rate": med(runs("baseline-mtls"), "rate"),
        "vigild_plain_rate": med(runs("vigild-plain"), "rate"),
        "vigild_mtls_rate": med(runs("vigild-mtls"), "rate"),
        "vigild_mtls_vs_vigild_plain": round(paired(runs("vigild-mtls"), runs("vigild-plain")), 3),
        "vigild_mtls_vs_baseline_plain": round(paired(runs("vigild-mtls"), runs("baseline-plain")), 3),
        "vigild_mtls_vs_baseline_mtls": round(paired(runs("vigild-mtls"), runs("baseline-mtls")), 3),
        "baseline_mtls_vs_baseline_plain": round(paired(runs("baseline-mtls"), runs("baseline-plain")), 3),
    },
}
json.dump(result, open("bench/overload.json", "w"), indent=2)
t = result["tls"]
row = lambda name, r: (f"| {name} | {r['rate']:,.0f} | {r['goodput']:,.0f} "
                       f"({r['goodput_vs_highest']:.2f}x) | {r['p50_ms']:.2f} / {r['p99_ms']:.2f} | "
                       f"{r['errors']} | {r['peak_rss_mb']} MB | {r['revoke_all_p99_ms']:.2f} ms "
                       f"({r['revoke_all']} ok, {r['revoke_all_errors']} failed) | "
                       f"{r.get('sent_late_ms', 0):,.0f} ms |")
print(f"""
Highest rate (closed loop, 64 in flight, median of {reps}): {highest:,} calls/s, vigild's peak RSS
{result['highest_peak_rss_mb']} MB. Deadline {deadline_ms} ms; vigild --max-inflight {max_inflight}.

| scenario | answers/s | goodput (vs highest) | p50 / p99 ms | errors | vigild peak RSS | RevokeAll p99 | sender behind by |
|---|---|---|---|---|---|---|---|
{row(f"closed loop, {flood} in flight", result['flood_closed'])}
{row(f"open loop, {opened['offered_rate']:,}/s offered", result['flood_open'])}

| TLS (closed loop, 64 in flight, median of {reps}) | calls/s | paired ratio |
|---|---|---|
| baseline, plaintext | {t['baseline_plain_rate']:,.0f} | |
| baseline, mutual TLS | {t['baseline_mtls_rate']:,.0f} | {t['baseline_mtls_vs_baseline_plain']:.3f} of plaintext |
| vigild, plaintext | {t['vigild_plain_rate']:,.0f} | |
| vigild, mutual TLS + authz policy | {t['vigild_mtls_rate']:,.0f} | {t['vigild_mtls_vs_vigild_plain']:.3f} of vigild plaintext, {t['vigild_mtls_vs_baseline_mtls']:.3f} of the TLS baseline, {t['vigild_mtls_vs_baseline_plain']:.3f} of the plaintext baseline |
""")
PY
