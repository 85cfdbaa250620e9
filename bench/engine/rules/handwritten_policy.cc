#include "bench/engine/rules/handwritten_policy.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace vigil::rules {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 60 * kMinute;

// params and lists of the shipped rules, in minor units (fen) where they are money.
constexpr int64_t kStrongAuthFailuresToDecline = 3;
constexpr int64_t kStandardApprovals1h = 10;
constexpr int64_t kStandardApprovals3h = 20;
constexpr int64_t kElderlyApprovals1h = 5;
constexpr int64_t kElderlyApprovals3h = 10;
constexpr int64_t kBurstFactor = 3;
constexpr int64_t kDeviceAttempts10m = 20;
constexpr int64_t kDistinctMerchants10m = 5;
constexpr int64_t kGamesPerTxnCap = 10'000;
constexpr int64_t kGamesDailyCap = 30'000;

bool GamesOrTipping(absl::string_view category) {
  return category == "5816" || category == "7994" || category == "5815" || category == "7995";
}

[[noreturn]] void NotShipped(const char* what) {
  std::fprintf(stderr, "HandwrittenPolicy: the rule set is not the shipped one (%s)\n", what);
  std::abort();
}

}  // namespace

HandwrittenPolicy::HandwrittenPolicy(std::shared_ptr<const CompiledRuleSet> shipped)
    : shipped_(std::move(shipped)) {
  static constexpr std::array<const char*, kRuleCount> kIds = {
      "merchants.blocked",
      "mcc.games_per_txn",
      "mcc.games_daily",
      "mandate.none",
      "mandate.unknown",
      "mandate.merchant_mismatch",
      "mandate.paused",
      "mandate.revoked",
      "mandate.expired",
      "mandate.dormant",
      "currency.supported",
      "limits.per_txn",
      "limits.user_per_txn",
      "limits.mandate_per_txn",
      "limits.daily",
      "limits.user_daily",
      "limits.mandate_daily",
      "limits.mandate_monthly",
      "strong_auth.failures",
      "channel.auto_debit",
      "velocity.user_1h",
      "velocity.user_3h",
      "velocity.burst_1h",
      "velocity.device_10m",
      "velocity.many_merchants_10m",
  };
  for (size_t i = 0; i < kIds.size(); ++i) {
    for (const CompiledRule& rule : shipped_->rules()) {
      if (rule.id == kIds[i]) reasons_[i] = rule.reason;
    }
    if (reasons_[i] == nullptr) NotShipped(kIds[i]);
  }
  if (shipped_->rules().size() != kRuleCount) NotShipped("rule count");

  struct Wanted {
    Subject subject;
    WindowMetric metric;
    int64_t span_ms;
  };
  static constexpr std::array<Wanted, kWindowCount> kWindows = {{
      {Subject::kUser, WindowMetric::kApprovals, kHour},
      {Subject::kUser, WindowMetric::kApprovals, 3 * kHour},
      {Subject::kUser, WindowMetric::kAttempts, kHour},
      {Subject::kDevice, WindowMetric::kAttempts, 10 * kMinute},
      {Subject::kUser, WindowMetric::kDistinctMerchants, 10 * kMinute},
  }};
  const auto specs = shipped_->layout().specs();
  if (specs.size() != kWindowCount) NotShipped("window count");
  for (size_t w = 0; w < kWindows.size(); ++w) {
    windows_[w] = -1;
    for (size_t i = 0; i < specs.size(); ++i) {
      if (specs[i].subject == kWindows[w].subject && specs[i].metric == kWindows[w].metric &&
          specs[i].shape.span_ms == kWindows[w].span_ms) {
        windows_[w] = static_cast<int>(i);
      }
    }
    if (windows_[w] < 0) NotShipped("velocity window");
  }
}

Verdict HandwrittenPolicy::Evaluate(const Facts& facts) const {
  const AuthorizeRequest& txn = *facts.request;
  const MandateFacts& mandate = facts.mandate;
  const UserProfile* profile = facts.profile;
  const bool elderly = facts.segment.elderly;
  const int64_t amount = txn.amount_minor;
  const int64_t own_per_txn = profile != nullptr ? profile->per_txn_limit_minor : 0;
  const int64_t own_daily = profile != nullptr ? profile->daily_limit_minor : 0;
  auto count = [&](WindowIndex w) { return facts.windows[windows_[w]].count; };

  Verdict verdict;
  auto fire = [&](RuleIndex rule, Decision action) {
    verdict.hits.push_back(RuleHit{action, reasons_[rule]});
    verdict.decision = Combine(verdict.decision, action);
  };

  // merchants.yaml
  if (txn.merchant_id == "merchant-under-investigation-001") {
    fire(kMerchantsBlocked, Decision::kDecline);
  }
  const bool games = GamesOrTipping(txn.merchant_category);
  if (games && amount > kGamesPerTxnCap) fire(kGamesPerTxn, Decision::kChallenge);
  if (games && mandate.day_used_minor + amount > kGamesDailyCap) {
    fire(kGamesDaily, Decision::kChallenge);
    verdict.notify_user = true;
  }

  // policy.yaml
  switch (mandate.match) {
    case MandateMatch::kNone:
      fire(kMandateNone, Decision::kChallenge);
      break;
    case MandateMatch::kUnknownId:
      fire(kMandateUnknown, Decision::kChallenge);
      break;
    case MandateMatch::kMerchantMismatch:
      fire(kMandateMerchantMismatch, Decision::kChallenge);
      break;
    case MandateMatch::kFound:
      if (mandate.status == MandateStatus::kPaused) fire(kMandatePaused, Decision::kChallenge);
      if (mandate.status == MandateStatus::kRevoked) fire(kMandateRevoked, Decision::kChallenge);
      if (mandate.status == MandateStatus::kExpired) fire(kMandateExpired, Decision::kChallenge);
      if (mandate.dormant) fire(kMandateDormant, Decision::kChallenge);
      break;
  }
  if (txn.currency != "CNY") fire(kCurrencySupported, Decision::kChallenge);
  if (amount > facts.segment.per_txn_cap_minor) fire(kLimitsPerTxn, Decision::kChallenge);
  if (own_per_txn > 0 && amount > own_per_txn) fire(kLimitsUserPerTxn, Decision::kChallenge);
  if (mandate.per_txn_limit_minor > 0 && amount > mandate.per_txn_limit_minor) {
    fire(kLimitsMandatePerTxn, Decision::kChallenge);
  }
  const int64_t user_day_after = facts.user_day_used_minor + amount;
  if (user_day_after > facts.segment.daily_cap_minor) fire(kLimitsDaily, Decision::kChallenge);
  if (own_daily > 0 && user_day_after > own_daily) fire(kLimitsUserDaily, Decision::kChallenge);
  if (mandate.daily_limit_minor > 0 &&
      mandate.day_used_minor + amount > mandate.daily_limit_minor) {
    fire(kLimitsMandateDaily, Decision::kChallenge);
  }
  if (mandate.monthly_limit_minor > 0 &&
      mandate.month_used_minor + amount > mandate.monthly_limit_minor) {
    fire(kLimitsMandateMonthly, Decision::kChallenge);
  }
  if (facts.strong_auth_failures >= kStrongAuthFailuresToDecline) {
    fire(kStrongAuthFailures, Decision::kDecline);
  }

  // velocity.yaml
  const int64_t approvals_1h = elderly ? kElderlyApprovals1h : kStandardApprovals1h;
  const int64_t approvals_3h = elderly ? kElderlyApprovals3h : kStandardApprovals3h;
  if (count(kWindowUserApprovals1h) >= approvals_1h) fire(kVelocityUser1h, Decision::kChallenge);
  if (count(kWindowUserApprovals3h) >= approvals_3h) fire(kVelocityUser3h, Decision::kChallenge);
  if (count(kWindowUserAttempts1h) >= kBurstFactor * approvals_1h) {
    fire(kVelocityBurst1h, Decision::kDecline);
  }
  if (!txn.device_id.empty() && count(kWindowDeviceAttempts10m) >= kDeviceAttempts10m) {
    fire(kVelocityDevice10m, Decision::kChallenge);
  }
  if (count(kWindowUserDistinctMerchants10m) >= kDistinctMerchants10m) {
    verdict.shadow_hits.push_back(
        RuleHit{Decision::kChallenge, reasons_[kVelocityManyMerchants10m]});
  }

  // Rules that read decision.*, after all the others.
  if (txn.channel == Channel::kAutoDebit && verdict.decision == Decision::kChallenge) {
    fire(kChannelAutoDebit, Decision::kDecline);
  }
  // settings.notify_user
  verdict.notify_user = verdict.notify_user || elderly ||
                        (verdict.decision == Decision::kApprove && profile != nullptr &&
                         profile->notify_every_transaction);
  return verdict;
}

}  // namespace vigil::rules
