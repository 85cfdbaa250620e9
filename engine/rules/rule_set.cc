#include "engine/rules/rule_set.h"

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/rules/compiler.h"

namespace vigil::rules {

absl::StatusOr<std::unique_ptr<const Policy>> LoadRuleSet(const std::string& rules_dir) {
  const std::string settings = (std::filesystem::path(rules_dir) / "policy.yaml").string();
  std::error_code error;
  if (!std::filesystem::is_regular_file(settings, error)) {
    return absl::NotFoundError(
        absl::StrCat(settings, ": cannot open the rule set's main file (its settings live there)"));
  }
  CompileOutput output = CompileRuleDirectory(rules_dir);
  if (output.rule_set == nullptr) {
    std::vector<std::string> errors;
    for (const Diagnostic& diagnostic : output.diagnostics) {
      if (diagnostic.severity == Severity::kError) errors.push_back(diagnostic.ToString());
    }
    return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  }
  return std::unique_ptr<const Policy>(std::move(output.rule_set));
}

}  // namespace vigil::rules
