// libFuzzer target: the rule parser, compiler and evaluator on arbitrary rule files.
//
// The input is a rule file compiled beside a valid settings file, so that the fuzzer spends its
// time in params, lists, macros, rules and expressions. Whatever compiles is also evaluated on
// one charge, so the planner's output is exercised too. The same bytes go to the expression
// parser alone. Any crash, leak, hang or sanitizer report is a bug.
//
//   tools/fuzz.sh 60    # build with clang and run for 60 seconds on fuzz/corpus

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/policy.h"
#include "engine/rules/compiler.h"
#include "engine/rules/parser.h"

namespace {

constexpr char kSettings[] = R"(settings:
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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);

  std::vector<vigil::rules::Diagnostic> diagnostics;
  (void)vigil::rules::ParseExpression(text, vigil::rules::TextOrigin{"input", {1, 1}, 1},
                                      diagnostics);

  vigil::rules::CompileOutput output =
      vigil::rules::CompileRuleFiles({{"settings.yaml", kSettings}, {"input.yaml", text}},
                                     [](const std::string& name) -> absl::StatusOr<std::string> {
                                       if (name == "lists/x.txt") return std::string("a\nb # c\n");
                                       return absl::NotFoundError("no list files while fuzzing");
                                     });
  if (output.rule_set == nullptr) return 0;

  vigil::AuthorizeRequest request;
  request.transaction_id = "t";
  request.user_id = "u";
  request.merchant_id = "m";
  request.amount_minor = 12345;
  request.currency = "CNY";
  request.attributes = {{"k", "v"}};
  std::vector<vigil::WindowReading> readings(output.rule_set->layout().specs().size(),
                                             vigil::WindowReading{3, 300});
  vigil::Facts facts;
  facts.request = &request;
  facts.windows = readings;
  (void)output.rule_set->Evaluate(facts);
  return 0;
}
