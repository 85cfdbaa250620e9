#pragma once

// Interned values live for the whole process, so that many records can point at one copy:
// every idempotency record of a decision points at the reasons and the rules version it was
// given instead of copying their strings.
//
//   const Reason* reason = InternReason(Reason{"DAILY_LIMIT", "limits.daily", "..."});
//
// Thread-safe. Interning takes a process-wide lock: do it when rules are loaded or state is
// restored, never per decision. The pool only grows, by the distinct values ever interned (the
// reasons and versions of every rule set loaded since start), which is small.

#include <string>

#include "absl/strings/string_view.h"
#include "engine/core/types.h"

namespace vigil {

const Reason* InternReason(const Reason& reason);
const std::string* InternString(absl::string_view value);

}  // namespace vigil
