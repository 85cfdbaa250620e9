#pragma once

// The one entry point the server (and tools) use to turn a rules directory into the Policy that
// decides. What the directory holds and how it is compiled stay behind this function.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/core/policy.h"

namespace vigil::rules {

// Loads the rule set in `rules_dir`. NOT_FOUND for a missing file, INVALID_ARGUMENT for one that
// does not compile, with "file:line:column: what was expected".
absl::StatusOr<std::unique_ptr<const Policy>> LoadRuleSet(const std::string& rules_dir);

}  // namespace vigil::rules
