#include "engine/core/mandate_invariant.h"

#include "engine/core/interned.h"

namespace vigil {

const Reason* NoActiveMandateReason() {
  static const Reason* const reason =
      InternReason(Reason{"NO_ACTIVE_MANDATE", "engine.mandate_required",
                          "there is no active mandate for this charge"});
  return reason;
}

void EnforceMandateInvariant(bool usable_mandate, Verdict& verdict) {
  if (verdict.decision != Decision::kApprove || usable_mandate) return;
  verdict.decision = Decision::kChallenge;
  verdict.hits.push_back(RuleHit{Decision::kChallenge, NoActiveMandateReason()});
}

}  // namespace vigil
