#!/usr/bin/env python3
"""Turns the raw output of tools/bench.sh into bench/results.json and the generated section of
bench/RESULTS.md.

    bench/report.py OUT_DIR REPS OPEN_REPS USERS QUICK

OUT_DIR holds one vigil-bench JSON file per run and the Google Benchmark JSON files, as
tools/bench.sh names them. Figures are medians over the repetitions.
"""

import datetime
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys

TWO_THREADS = "BM_Engine_AuthorizeTwoThreads/iterations:500000/threads:"
BEGIN = "<!-- tools/bench.sh: begin (generated; edits here are overwritten) -->"
END = "<!-- tools/bench.sh: end -->"


def load(out, name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


def median_of(runs, key):
    return statistics.median(run[key] for run in runs)


def micro_medians(report):
    """Median real time (ns) and counters of each benchmark over its repetitions."""
    by_name = {}
    for entry in report["benchmarks"]:
        if entry.get("run_type", "iteration") != "iteration":
            continue
        by_name.setdefault(entry["run_name"], []).append(entry)
    medians = {}
    to_ns = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
    for name, entries in by_name.items():
        row = {"ns": statistics.median(e["real_time"] * to_ns[e["time_unit"]] for e in entries),
               # CPU time per iteration: with several threads, what one decision costs.
               "cpu_ns": statistics.median(e["cpu_time"] * to_ns[e["time_unit"]] for e in entries)}
        for key, value in entries[0].items():
            if isinstance(value, (int, float)) and key not in (
                    "real_time", "cpu_time", "iterations", "repetitions", "repetition_index",
                    "threads", "family_index", "per_family_instance_index"):
                row[key] = statistics.median(e[key] for e in entries)
        medians[name] = row
    return medians


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1))
    compiler = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "compiler": compiler.splitlines()[0] if compiler else "unknown",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def main():
    out, reps, open_reps, users = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    quick = sys.argv[5] == "1"
    runs = lambda kind, n: [load(out, f"{kind}-{r}.json") for r in range(1, n + 1)]
    closed_base, closed_vigild = runs("closed-baseline", reps), runs("closed-vigild", reps)
    open_base, open_vigild = runs("open-baseline", open_reps), runs("open-vigild", open_reps)
    open_base_again = runs("open-baseline-again", open_reps)
    gateway = load(out, "gateway-vigild.json")
    store = load(out, "closed-vigild-store.json")
    engine = micro_medians(load(out, "engine.json"))
    rules = micro_medians(load(out, "rules.json"))
    one_m = micro_medians(load(out, "engine-1m.json"))
    one_m = next(iter(one_m.values()))
    one_m_hand = next(iter(micro_medians(load(out, "engine-1m-handwritten.json")).values()))

    base_max = median_of(closed_base, "rate")
    vigild_max = median_of(closed_vigild, "rate")
    # The baseline runs before and after each vigild run at the fixed rate: its figures are the
    # medians over both, and the two halves' distance from each other is an A/A control.
    open_base_all = open_base + open_base_again
    base_p99 = median_of(open_base_all, "p99_ms")
    vigild_p99 = median_of(open_vigild, "p99_ms")
    base_before_p99 = median_of(open_base, "p99_ms")
    base_again_p99 = median_of(open_base_again, "p99_ms")
    base_self_ratio = max(base_again_p99, base_before_p99) / min(base_again_p99, base_before_p99)
    # Headline ratios are paired: each round's vigild run against the baseline run(s) next to it
    # in time, then the median over rounds. The machine's speed drifts by tens of percent over
    # minutes (other tenants); a ratio of the two medians can pair a fast spell's baseline with
    # a slow spell's vigild. Both are in results.json.
    throughput_ratios = [v["rate"] / b["rate"] for b, v in zip(closed_base, closed_vigild)]
    p99_ratios = [
        v["p99_ms"] / math.sqrt(b["p99_ms"] * a["p99_ms"])
        for b, v, a in zip(open_base, open_vigild, open_base_again)
    ]
    rules_ns = rules["BM_RuleSet_EvaluateShipped"]["ns"]
    hand_ns = rules["BM_Handwritten_EvaluateShipped"]["ns"]

    results = {
        "authorize_vs_baseline_throughput_ratio": round(statistics.median(throughput_ratios), 3),
        "authorize_p50_ms_at_half_max": round(median_of(open_vigild, "p50_ms"), 3),
        "authorize_p99_vs_baseline_ratio_at_half_max": round(statistics.median(p99_ratios), 3),
        "core_decision_median_ns": one_m["p50_ns"],
        "core_decision_p99_ns": one_m["p99_ns"],
        "state_bytes_per_user": round(one_m["state_bytes_per_user"], 1),
        "rules_vs_handwritten_ratio": round(rules_ns / hand_ns, 2),
        "machine": machine(),
        "suite": {"repetitions": reps, "fixed_rate_repetitions": open_reps, "users": users,
                  "quick": quick},
        "grpc": {
            "baseline_max_rate": base_max,
            "authorize_max_rate": vigild_max,
            "half_max_rate": open_vigild[0]["offered_rate"],
            "baseline_p50_ms_at_half_max": median_of(open_base_all, "p50_ms"),
            "baseline_p99_ms_at_half_max": base_p99,
            "authorize_p99_ms_at_half_max": vigild_p99,
            "authorize_p999_ms_at_half_max": median_of(open_vigild, "p999_ms"),
            "baseline_before_p99_ms_at_half_max": base_before_p99,
            "baseline_after_p99_ms_at_half_max": base_again_p99,
            "baseline_p99_spread_vs_itself": round(base_self_ratio, 3),
            "throughput_ratio_by_round": [round(r, 3) for r in throughput_ratios],
            "throughput_ratio_of_medians": round(vigild_max / base_max, 3),
            "p99_ratio_by_round": [round(r, 3) for r in p99_ratios],
            "p99_ratio_of_medians": round(vigild_p99 / base_p99, 3),
            # The whole machine's busy share (all cores, client and server) during the runs.
            "machine_busy_at_half_max": {"baseline": median_of(open_base_all, "machine_busy"),
                                         "authorize": median_of(open_vigild, "machine_busy")},
            "closed_loop_runs": {"baseline": closed_base, "authorize": closed_vigild},
            "open_loop_runs": {"baseline": open_base, "authorize": open_vigild,
                               "baseline_again": open_base_again},
            "gateway_traffic": gateway,
            "authorize_with_store_fsync": store,
        },
        "micro": {
            "engine": engine,
            "rules": rules,
            "authorize_1m_users": one_m,
            "authorize_1m_users_handwritten": one_m_hand,
        },
    }
    targets = [
        ("Authorize throughput / baseline", results["authorize_vs_baseline_throughput_ratio"],
         ">= 0.70", results["authorize_vs_baseline_throughput_ratio"] >= 0.70),
        ("Authorize p50 at half max (ms)", results["authorize_p50_ms_at_half_max"], "< 1",
         results["authorize_p50_ms_at_half_max"] < 1),
        ("Authorize p99 / baseline p99 at half max",
         results["authorize_p99_vs_baseline_ratio_at_half_max"], "<= 1.5",
         results["authorize_p99_vs_baseline_ratio_at_half_max"] <= 1.5),
        ("core decision median, 1M users (ns)", results["core_decision_median_ns"], "< 2000",
         results["core_decision_median_ns"] < 2000),
        ("core decision p99, 1M users (ns)", results["core_decision_p99_ns"], "< 10000",
         results["core_decision_p99_ns"] < 10000),
        ("state per user (bytes)", results["state_bytes_per_user"], "< 512",
         results["state_bytes_per_user"] < 512),
        ("rules / hand-written C++ (evaluation)", results["rules_vs_handwritten_ratio"],
         "shown", True),
    ]
    results["targets_met"] = {name: met for name, _, _, met in targets}
    with open("bench/results.json", "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")

    m = results["machine"]
    g = results["grpc"]
    lines = [
        BEGIN,
        f"## Latest `tools/bench.sh` — {m['date']}" + (" (quick run)" if quick else ""),
        "",
        f"Machine: {m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux "
        f"{m['kernel']}, {m['compiler']}, Release build. Client and servers share the cores. "
        f"gRPC figures are medians of alternating runs ({reps} at the highest rate, {open_reps} at "
        f"the fixed rate) of {users:,} users (Zipf 0.9), 64 calls in flight for the highest "
        "rate; raw figures in `bench/results.json`.",
        "",
        "```sh",
        "tools/bench.sh" if not quick else "VIGIL_BENCH_QUICK=1 tools/bench.sh",
        "```",
        "",
        "| target | measured | wanted | |",
        "|---|---|---|---|",
    ]
    for name, value, wanted, met in targets:
        lines.append(f"| {name} | {value:,} | {wanted} | {'met' if met else '**missed**'} |")
    lines += [
        "",
        "| over gRPC | calls/s | p50 ms | p99 ms | p99.9 ms |",
        "|---|---|---|---|---|",
        f"| baseline, highest rate | {base_max:,.0f} | {median_of(closed_base, 'p50_ms'):.3f} | "
        f"{median_of(closed_base, 'p99_ms'):.3f} | {median_of(closed_base, 'p999_ms'):.3f} |",
        f"| vigild, highest rate | {vigild_max:,.0f} | {median_of(closed_vigild, 'p50_ms'):.3f} | "
        f"{median_of(closed_vigild, 'p99_ms'):.3f} | {median_of(closed_vigild, 'p999_ms'):.3f} |",
        f"| baseline at {g['half_max_rate']:,}/s | {median_of(open_base_all, 'rate'):,.0f} | "
        f"{g['baseline_p50_ms_at_half_max']:.3f} | {base_p99:.3f} | "
        f"{median_of(open_base_all, 'p999_ms'):.3f} |",
        f"| — its runs before vigild's | {median_of(open_base, 'rate'):,.0f} | "
        f"{median_of(open_base, 'p50_ms'):.3f} | {base_before_p99:.3f} | "
        f"{median_of(open_base, 'p999_ms'):.3f} |",
        f"| — its runs after vigild's | {median_of(open_base_again, 'rate'):,.0f} | "
        f"{median_of(open_base_again, 'p50_ms'):.3f} | {base_again_p99:.3f} | "
        f"{median_of(open_base_again, 'p999_ms'):.3f} |",
        f"| vigild at {g['half_max_rate']:,}/s | {median_of(open_vigild, 'rate'):,.0f} | "
        f"{results['authorize_p50_ms_at_half_max']:.3f} | {vigild_p99:.3f} | "
        f"{g['authorize_p999_ms_at_half_max']:.3f} |",
        f"| vigild, gateway traffic at {gateway['offered_rate']:,}/s | {gateway['rate']:,.0f} | "
        f"{gateway['p50_ms']:.3f} | {gateway['p99_ms']:.3f} | {gateway['p999_ms']:.3f} |",
        f"| vigild with the store, `--fsync` (highest rate) | {store['rate']:,.0f} | "
        f"{store['p50_ms']:.3f} | {store['p99_ms']:.3f} | {store['p999_ms']:.3f} |",
        "",
        "The two ratios are paired: each round's vigild run against the baseline run(s) next "
        "to it in time, then the median over rounds (the machine's speed drifts over minutes). "
        f"By round, throughput {', '.join(f'{r:.2f}' for r in g['throughput_ratio_by_round'])}"
        f" (ratio of the medians: {g['throughput_ratio_of_medians']:.3f}); p99 against the "
        "geometric mean of the baseline's runs before and after, "
        f"{', '.join(f'{r:.2f}' for r in g['p99_ratio_by_round'])} (ratio of the medians: "
        f"{g['p99_ratio_of_medians']:.3f}).",
        "",
        "At the fixed rate each round runs the baseline, vigild, then the baseline again; the "
        f"baseline's figures in the table are medians over all {2 * open_reps} of its runs. Its "
        f"runs before and after vigild's differ from each other by {base_self_ratio:.2f}x in "
        "median p99 (an A/A control): a p99 ratio that close to 1 is the machine's noise, not a "
        "difference between the servers. The machine (all cores, client and server) was "
        f"{g['machine_busy_at_half_max']['baseline']:.0%} busy during the baseline's fixed-rate "
        f"runs and {g['machine_busy_at_half_max']['authorize']:.0%} during vigild's (medians): "
        "the closer to 100%, the more a small difference in CPU per call grows in the p99, as "
        "the backlog from each stall takes longer to drain.",
        "",
        f"Gateway traffic: {gateway['users']:,} fresh users (10% elderly) at "
        f"{gateway['offered_rate']:,} calls/s; decisions " + json.dumps(gateway["decisions"])
        + "; attack bursts (one user charged 200 times) " + json.dumps(gateway["attack_decisions"])
        + f"; {gateway['mandate_ops']} mandate grants and revocations (p99 "
        f"{gateway['mandate_ops_p99_ms']:.3f} ms).",
        "",
        "| in process | median ns | notes |",
        "|---|---|---|",
        f"| decision, 1M users, shipped rules | {one_m['p50_ns']:,.0f} | p99 "
        f"{one_m['p99_ns']:,.0f} ns, p99.9 {one_m['p999_ns']:,.0f} ns; "
        f"{one_m['state_bytes_per_user']:,.0f} B state per user, "
        f"{one_m['idempotency_bytes_per_charge']:,.0f} B per idempotency record |",
        f"| decision, 1M users, hand-written rules | {one_m_hand['p50_ns']:,.0f} | p99 "
        f"{one_m_hand['p99_ns']:,.0f} ns |",
        f"| decision, one hot user | {engine['BM_Engine_AuthorizeHotUser']['ns']:,.0f} | "
        "velocity rules firing |",
        f"| idempotent retry | {engine['BM_Engine_IdempotentRetry']['ns']:,.0f} | |",
        f"| window update (read + record), a user charged hourly | "
        f"{engine['BM_Engine_WindowUpdate/seconds_apart:3600']['ns']:,.0f} | exact events |",
        f"| window update (read + record), a user charged every second | "
        f"{engine['BM_Engine_WindowUpdate/seconds_apart:1']['ns']:,.0f} | bucket rings |",
        f"| sweeper step: one of 1,024 parts of 1M idempotency records | "
        f"{engine['BM_Engine_SweepStep']['ns']:,.0f} | a shard's lock held meanwhile; a step "
        "every ~59 ms |",
        f"| decision, two threads at once, 20,000 users | "
        f"{engine[TWO_THREADS + '2']['cpu_ns']:,.0f} | CPU per decision; on one thread "
        f"{engine[TWO_THREADS + '1']['cpu_ns']:,.0f} ns |",
        f"| rule evaluation, shipped rules | {rules_ns:,.0f} | hand-written: {hand_ns:,.1f} ns |",
        f"| rule evaluation, 200 rules | {rules['BM_RuleSet_Evaluate200Rules']['ns']:,.0f} | |",
        f"| compile, shipped rules | {rules['BM_RuleSet_CompileShipped']['ns'] / 1000:,.0f} µs | |",
        END,
    ]
    with open("bench/RESULTS.md") as f:
        text = f.read()
    section = "\n".join(lines)
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + section + text[text.index(END) + len(END):]
    else:
        first = text.index("\n## ")
        text = text[: first + 1] + section + "\n\n" + text[first + 1:]
    with open("bench/RESULTS.md", "w") as f:
        f.write(text)
    for name, value, wanted, met in targets:
        print(f"   {name:<42} {value:>12,} {wanted:>8}  {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
