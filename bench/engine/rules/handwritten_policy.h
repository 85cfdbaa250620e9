#pragma once

// HandwrittenPolicy is the shipped rules (rules/*.yaml) written out by hand in plain C++: the
// same rules, in the same order, with the same parameters and lists, giving the same Verdict on
// the same Facts. It exists to be measured against the compiled rule set, so that the cost of
// the rule language over code a programmer would write is a number, not a guess.
//
// Settings (calendar, caps, segments, grant checks) and the rules' reasons come from the
// compiled shipped rule set it is built from; only Evaluate() is written by hand. It is a twin
// of one rule set: change rules/*.yaml and this must change with it (a test compares the two on
// a few hundred thousand generated charges).

#include <array>
#include <memory>

#include "engine/core/policy.h"
#include "engine/rules/compiled_rule_set.h"

namespace vigil::rules {

class HandwrittenPolicy final : public Policy {
 public:
  // Aborts if `shipped` is not the shipped rule set (a rule or window it expects is missing).
  explicit HandwrittenPolicy(std::shared_ptr<const CompiledRuleSet> shipped);

  absl::string_view version() const override { return shipped_->version(); }
  const LocalCalendar& calendar() const override { return shipped_->calendar(); }
  const WindowLayout& layout() const override { return shipped_->layout(); }
  int64_t dormant_after_ms() const override { return shipped_->dormant_after_ms(); }
  UserSegment Segment(std::optional<int> age) const override { return shipped_->Segment(age); }
  absl::Status CheckGrant(const GrantMandateRequest& request, const UserSegment& segment,
                          const UserProfile* profile) const override {
    return shipped_->CheckGrant(request, segment, profile);
  }
  absl::Status CheckProfile(const UserProfile& profile, const UserSegment& segment) const override {
    return shipped_->CheckProfile(profile, segment);
  }
  Verdict Evaluate(const Facts& facts) const override;

 private:
  enum RuleIndex {
    kMerchantsBlocked,
    kGamesPerTxn,
    kGamesDaily,
    kMandateNone,
    kMandateUnknown,
    kMandateMerchantMismatch,
    kMandatePaused,
    kMandateRevoked,
    kMandateExpired,
    kMandateDormant,
    kCurrencySupported,
    kLimitsPerTxn,
    kLimitsUserPerTxn,
    kLimitsMandatePerTxn,
    kLimitsDaily,
    kLimitsUserDaily,
    kLimitsMandateDaily,
    kLimitsMandateMonthly,
    kStrongAuthFailures,
    kChannelAutoDebit,
    kVelocityUser1h,
    kVelocityUser3h,
    kVelocityBurst1h,
    kVelocityDevice10m,
    kVelocityManyMerchants10m,
    kRuleCount,
  };
  enum WindowIndex {
    kWindowUserApprovals1h,
    kWindowUserApprovals3h,
    kWindowUserAttempts1h,
    kWindowDeviceAttempts10m,
    kWindowUserDistinctMerchants10m,
    kWindowCount,
  };

  std::shared_ptr<const CompiledRuleSet> shipped_;
  std::array<const Reason*, kRuleCount> reasons_{};
  std::array<int, kWindowCount> windows_{};  // indices into Facts::windows
};

}  // namespace vigil::rules
