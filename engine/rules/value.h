#pragma once

// What rule expressions compute with: a Value of any rule type, and the EvalContext that one
// decision's evaluation reads (its Facts, the decision so far, its cache of shared nodes).
// Plain structs; thread-compatible.

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/core/policy.h"
#include "engine/core/types.h"

namespace vigil::rules {

// A value of any rule type: numbers, amounts, durations and bools in `i`, strings in `s`.
struct Value {
  int64_t i = 0;
  absl::string_view s;
};
// A number's Value, and a string's.
inline Value IntValue(int64_t i) { return Value{i, {}}; }
inline Value TextValue(absl::string_view s) { return Value{0, s}; }

struct EvalContext {
  const Facts* facts = nullptr;            // nullptr while folding constants
  Decision decision = Decision::kApprove;  // what decision.* reads
  // One slot per Plan::memo_slots: cached values of shared nodes for this decision.
  absl::Span<Value> memo;
  absl::Span<uint8_t> memo_done;
};

}  // namespace vigil::rules
