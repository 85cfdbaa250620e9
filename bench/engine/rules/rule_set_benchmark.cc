// Micro-benchmarks of the rule language: compiling, and evaluating a compiled rule set on one
// charge's facts (no engine, no state), for the shipped rules and for a generated 200-rule set.
//
//   build-release/bin/rule_set_benchmark --benchmark_repetitions=5
//       --benchmark_report_aggregates_only
//
// Counters: `rules`, `windows` (velocity windows the set reads), `plan_nodes`, `plan_bytes`.
// BM_Handwritten_EvaluateShipped evaluates the shipped rules written out by hand in C++
// (bench/engine/rules/handwritten_policy.h) on the same facts: the rule language's overhead is
// BM_RuleSet_EvaluateShipped's time over this one's.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/engine/rules/handwritten_policy.h"
#include "benchmark/benchmark.h"
#include "engine/rules/compiler.h"

namespace vigil::rules {
namespace {

// 200 rules in the shapes risk teams write: amount caps by category, velocity over a few
// windows and subjects, list membership, channel tests, and compound conditions.
std::vector<RuleFile> TwoHundredRules() {
  std::string rules = "params:\n  base: 10\nlists:\n  hot: [\"5816\", \"7994\", \"5815\"]\n";
  absl::StrAppend(&rules, "macros:\n  standard_user: \"!user.elderly\"\nrules:\n");
  const char* spans[] = {"10m", "1h", "3h", "24h"};
  const char* subjects[] = {"user", "device", "merchant", "mandate"};
  for (int i = 0; i < 200; ++i) {
    std::string when;
    switch (i % 5) {
      case 0:
        when = absl::StrCat("txn.merchant_category == \"", 5000 + i, "\" && txn.amount > ", 50 + i,
                            " CNY");
        break;
      case 1:
        when = absl::StrCat(subjects[i % 4], ".approvals(", spans[(i / 5) % 4],
                            ") >= params.base + ", i % 17);
        break;
      case 2:
        when = absl::StrCat("txn.merchant_category in lists.hot && ", subjects[(i / 5) % 4],
                            ".attempts(", spans[i % 4], ") > ", 20 + i);
        break;
      case 3:
        when = absl::StrCat("standard_user && txn.channel == \"ONLINE\" && txn.amount + ",
                            "user.approved_today > ", 500 + i, " CNY");
        break;
      default:
        when = absl::StrCat("txn.merchant_id == \"merchant-", i,
                            "\" || (user.age > 0 && user.age < 18 && txn.amount > ", i, " CNY)");
    }
    absl::StrAppend(&rules, "  - id: generated.r", i, "\n    when: '", when,
                    "'\n    action: challenge\n    code: GENERATED_", i, "\n");
  }
  const std::string settings = R"(settings:
  currency: CNY
  utc_offset: "+08:00"
  elderly_age: 60
  elderly_requires_risk_assessment: true
  dormant_after: 90d
  caps:
    standard: {per_txn: 1000 CNY, daily: 2000 CNY}
    elderly: {per_txn: 200 CNY, daily: 500 CNY}
  notify_user: user.elderly
)";
  return {{"policy.yaml", settings}, {"generated.yaml", rules}};
}

std::unique_ptr<CompiledRuleSet> Shipped() {
  CompileOutput output = CompileRuleDirectory(VIGIL_RULES_DIR);
  if (output.rule_set == nullptr) std::abort();
  return std::move(output.rule_set);
}

std::unique_ptr<CompiledRuleSet> Generated() {
  CompileOutput output = CompileRuleFiles(TwoHundredRules(), [](const std::string&) {
    return absl::StatusOr<std::string>(absl::NotFoundError("none"));
  });
  if (output.rule_set == nullptr) {
    for (const auto& d : output.diagnostics) std::fprintf(stderr, "%s\n", d.ToString().c_str());
    std::abort();
  }
  return std::move(output.rule_set);
}

// A typical charge: a standard adult, an active general mandate, some history.
void Evaluate(benchmark::State& state, const Policy& rule_set) {
  AuthorizeRequest request;
  request.transaction_id = "t";
  request.user_id = "u";
  request.merchant_id = "coffee-42";
  request.amount_minor = 1234;
  request.currency = "CNY";
  request.channel = Channel::kQrCode;
  request.merchant_category = "5814";
  UserProfile profile;
  profile.user_id = "u";
  Facts facts;
  facts.request = &request;
  facts.profile = &profile;
  facts.age = 35;
  facts.segment = rule_set.Segment(35);
  facts.user_day_used_minor = 5000;
  facts.mandate.match = MandateMatch::kFound;
  facts.mandate.general = true;
  facts.mandate.idle_ms = 3'600'000;
  std::vector<WindowReading> readings(rule_set.layout().specs().size(), WindowReading{2, 2500});
  facts.windows = readings;
  for (auto _ : state) {
    Verdict verdict = rule_set.Evaluate(facts);
    benchmark::DoNotOptimize(verdict);
  }
}

void Evaluate(benchmark::State& state, const CompiledRuleSet& rule_set) {
  Evaluate(state, static_cast<const Policy&>(rule_set));
  state.counters["rules"] = static_cast<double>(rule_set.rules().size());
  state.counters["windows"] = static_cast<double>(rule_set.layout().specs().size());
  state.counters["plan_nodes"] = static_cast<double>(rule_set.plan().nodes.size());
  state.counters["plan_bytes"] = static_cast<double>(rule_set.plan().MemoryBytes());
}

void BM_RuleSet_EvaluateShipped(benchmark::State& state) { Evaluate(state, *Shipped()); }
BENCHMARK(BM_RuleSet_EvaluateShipped);

void BM_Handwritten_EvaluateShipped(benchmark::State& state) {
  Evaluate(state, HandwrittenPolicy(Shipped()));
}
BENCHMARK(BM_Handwritten_EvaluateShipped);

void BM_RuleSet_Evaluate200Rules(benchmark::State& state) { Evaluate(state, *Generated()); }
BENCHMARK(BM_RuleSet_Evaluate200Rules);

void BM_RuleSet_CompileShipped(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(CompileRuleDirectory(VIGIL_RULES_DIR));
}
BENCHMARK(BM_RuleSet_CompileShipped)->Unit(benchmark::kMicrosecond);

void BM_RuleSet_Compile200Rules(benchmark::State& state) {
  const std::vector<RuleFile> files = TwoHundredRules();
  for (auto _ : state) {
    benchmark::DoNotOptimize(CompileRuleFiles(files, [](const std::string&) {
      return absl::StatusOr<std::string>(absl::NotFoundError("none"));
    }));
  }
}
BENCHMARK(BM_RuleSet_Compile200Rules)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace vigil::rules
