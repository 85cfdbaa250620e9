#pragma once

// Evaluates Plan nodes against one decision's Facts. No allocation, no exceptions, and a bounded
// number of steps (each node is visited at most once per parent, and plans have no loops).
// Thread-safe: all state is in the EvalContext the caller provides.

#include <cstdint>

#include "engine/core/policy.h"
#include "engine/rules/planner.h"
#include "engine/rules/value.h"

namespace vigil::rules {

Value Evaluate(const Plan& plan, int32_t node, EvalContext& context);

}  // namespace vigil::rules
