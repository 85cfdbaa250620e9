#pragma once

// LimitsPolicy is Vigil's default policy (API.md's table) with every number read from
// `rules/policy.yaml`: per-segment caps, velocity counts, the burst and strong-auth thresholds,
// dormancy, the elderly age and the local calendar. It implements the Policy seam that a
// compiled rule set will implement too.
//
//   absl::StatusOr<std::unique_ptr<LimitsPolicy>> policy = LoadLimitsPolicy("rules");
//
// Rules it applies, each with a stable rule id and reason code (see rules/README.md):
//   mandate.required   no usable mandate                      CHALLENGE
//   mandate.dormant    mandate idle past the dormancy period  CHALLENGE
//   currency.supported a currency other than the policy's     CHALLENGE
//   limits.per_txn     above the lowest non-zero of policy, user and mandate caps  CHALLENGE
//   limits.daily       above the user's daily cap              CHALLENGE
//   limits.mandate_daily / limits.mandate_monthly             CHALLENGE
//   velocity.user_1h / velocity.user_3h  too many approvals   CHALLENGE
//   velocity.burst_1h  attempts far beyond the hourly count   DECLINE
//   strong_auth.failures  strong authentication keeps failing DECLINE
//   channel.auto_debit  AUTO_DEBIT where another channel would be challenged  DECLINE
//
// Immutable after loading; thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/core/policy.h"

namespace vigil::rules {

// Numbers that differ between standard and elderly users.
struct SegmentLimits {
  int64_t per_txn_cap_minor = 0;
  int64_t daily_cap_minor = 0;
  int64_t approvals_1h = 0;
  int64_t approvals_3h = 0;
  int64_t burst_attempts_1h = 0;
  bool notify_always = false;
};

struct LimitsConfig {
  std::string currency;
  int64_t utc_offset_ms = 0;
  int elderly_age = 60;
  bool elderly_requires_risk_assessment = true;
  int64_t dormant_after_ms = 0;
  int64_t strong_auth_failures_decline = 0;
  int window_buckets = 12;
  SegmentLimits standard;
  SegmentLimits elderly;
};

class LimitsPolicy final : public Policy {
 public:
  // `version` identifies the content the config came from.
  LimitsPolicy(LimitsConfig config, std::string version);

  absl::string_view version() const override { return version_; }
  const LocalCalendar& calendar() const override { return calendar_; }
  absl::Span<const WindowSpec> windows() const override { return windows_; }
  int64_t dormant_after_ms() const override { return config_.dormant_after_ms; }
  UserSegment Segment(std::optional<int> age) const override;
  absl::Status CheckGrant(const GrantMandateRequest& request, const UserSegment& segment,
                          const UserProfile* profile) const override;
  absl::Status CheckProfile(const UserProfile& profile, const UserSegment& segment) const override;
  Verdict Evaluate(const Facts& facts) const override;

  const LimitsConfig& config() const { return config_; }

 private:
  // One reason per rule outcome, owned here so that verdicts can point at them.
  struct Reasons {
    Reason no_mandate, mandate_not_found, mandate_merchant_mismatch, mandate_paused,
        mandate_revoked, mandate_expired, mandate_dormant, currency, per_txn, daily, mandate_daily,
        mandate_monthly, velocity_1h, velocity_3h, burst_1h, strong_auth_failures, auto_debit;
  };

  const SegmentLimits& LimitsFor(const UserSegment& segment) const;
  const Reason* MandateProblem(const MandateFacts& mandate) const;

  LimitsConfig config_;
  std::string version_;
  LocalCalendar calendar_;
  std::vector<WindowSpec> windows_;
  Reasons reasons_;
};

// Parses a policy document (the content of policy.yaml). `source` names it in errors, which are
// INVALID_ARGUMENT and say "source:line:column: what was expected".
absl::StatusOr<std::unique_ptr<LimitsPolicy>> ParseLimitsPolicy(absl::string_view yaml,
                                                                absl::string_view source);
// Reads DIR/policy.yaml. NOT_FOUND when it is missing.
absl::StatusOr<std::unique_ptr<LimitsPolicy>> LoadLimitsPolicy(const std::string& rules_dir);

}  // namespace vigil::rules
