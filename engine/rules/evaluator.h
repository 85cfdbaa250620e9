#pragma once

// Evaluates Plan nodes against one decision's Facts. No allocation, no exceptions, and a bounded
// number of steps (each node is visited at most once per parent, and plans have no loops).
// Thread-safe: all state is in the EvalContext the caller provides.

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/core/policy.h"
#include "engine/rules/planner.h"

namespace vigil::rules {

// A value of any rule type: numbers, amounts, durations and bools in `i`, strings in `s`.
struct Value {
  int64_t i = 0;
  absl::string_view s;
};

struct EvalContext {
  const Facts* facts = nullptr;            // nullptr while folding constants
  Decision decision = Decision::kApprove;  // what decision.* reads
  // One slot per Plan::memo_slots: cached values of shared nodes for this decision.
  absl::Span<Value> memo;
  absl::Span<uint8_t> memo_done;
};

Value Evaluate(const Plan& plan, int32_t node, EvalContext& context);

}  // namespace vigil::rules
