#pragma once

// Rule tests: example charges, written beside the rules in YAML, with the decision the rule set
// must reach. Each case runs through a fresh Engine with the compiled rule set, so it checks the
// rules exactly as vigild applies them (mandate lookup, windows, calendar days included).
//
//   tests:
//     - name: an elderly user is challenged above 200 CNY
//       user: {birth_date: "1950-01-01", risk_assessment_completed: true}
//       mandate: {merchant_id: "*", idle: 10d}        # or `mandate: none`
//       history:                                     # earlier charges, oldest first
//         - {ago: 30m, amount: 50 CNY, count: 3}
//       txn: {amount: 200.01 CNY, channel: QR_CODE, merchant_id: shop}
//       expect: {decision: CHALLENGE, reasons: [PER_TXN_LIMIT], notify: true}
//
// The full format is in rules/README.md. Thread-compatible.

#include <memory>
#include <string>
#include <vector>

#include "engine/rules/compiled_rule_set.h"
#include "engine/rules/diagnostic.h"

namespace vigil::rules {

struct RuleTestResult {
  std::string file;
  int line = 0;
  std::string name;
  bool passed = false;
  std::string failure;  // what differed, for people
};

struct RuleTestReport {
  std::vector<Diagnostic> diagnostics;  // mistakes in the test files themselves
  std::vector<RuleTestResult> results;
};

// Runs every case in `files` (path, content) against `rule_set`.
RuleTestReport RunRuleTests(std::shared_ptr<const CompiledRuleSet> rule_set,
                            const std::vector<std::pair<std::string, std::string>>& files);

}  // namespace vigil::rules
