#pragma once

// The one entry point the server (and tools) use to turn a rules directory into the Policy that
// decides. What the directory holds and how it is compiled stay behind this function.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/core/policy.h"

namespace vigil::rules {

// Compiles the rule set in `rules_dir` (see compiler.h). NOT_FOUND when `rules_dir/policy.yaml`,
// the file with the settings, is missing; INVALID_ARGUMENT, listing every error, for a set that
// does not compile, with "file:line:column: what was expected".
absl::StatusOr<std::unique_ptr<const Policy>> LoadRuleSet(const std::string& rules_dir);

}  // namespace vigil::rules
