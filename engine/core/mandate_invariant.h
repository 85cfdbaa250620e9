#pragma once

// The mandate invariant (the API's promise, proto/vigil/v1/vigil.proto): a charge with no usable
// mandate behind it is never APPROVEd, whatever a rule file says. Rules decide first; this has the
// last word.

#include "engine/core/policy.h"
#include "engine/core/types.h"

namespace vigil {

// The reason given when the invariant turns an APPROVE into a CHALLENGE.
const Reason* NoActiveMandateReason();

// Turns `verdict`'s APPROVE into a CHALLENGE, with NoActiveMandateReason() among its hits,
// unless `usable_mandate`: the charge resolved to a mandate that is active and unexpired now.
// Any other verdict is left as it is.
void EnforceMandateInvariant(bool usable_mandate, Verdict& verdict);

}  // namespace vigil
