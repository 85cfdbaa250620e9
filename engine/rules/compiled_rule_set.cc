#include "engine/rules/compiled_rule_set.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/core/interned.h"
#include "engine/core/money.h"
#include "engine/rules/evaluator.h"

namespace vigil::rules {
namespace {

// Each layout gets its own id, so that state shaped for one is never mistaken for another.
uint64_t NextLayoutId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

absl::Status CheckCaps(absl::string_view what, int64_t per_txn, int64_t daily,
                       const UserSegment& segment, absl::string_view currency) {
  const absl::string_view name = segment.elderly ? "elderly" : "standard";
  auto above = [&](absl::string_view field, int64_t value, int64_t cap) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ": ", FormatAmount(value, currency), " ", currency, " is above the policy cap of ",
        FormatAmount(cap, currency), " ", currency, " for ", name, " users (", what, ")"));
  };
  if (per_txn > segment.per_txn_cap_minor) {
    return above("per_txn_limit_minor", per_txn, segment.per_txn_cap_minor);
  }
  if (daily > segment.daily_cap_minor) {
    return above("daily_limit_minor", daily, segment.daily_cap_minor);
  }
  return absl::OkStatus();
}

}  // namespace

CompiledRuleSet::CompiledRuleSet(RuleSetSettings settings, Plan plan,
                                 std::vector<CompiledRule> rules, int32_t notify_root,
                                 std::vector<WindowSpec> windows, std::string version,
                                 RuleSetContents contents)
    : settings_(std::move(settings)),
      plan_(std::move(plan)),
      rules_(std::move(rules)),
      notify_root_(notify_root),
      layout_(std::move(windows), NextLayoutId()),
      version_(InternString(version)),
      calendar_(settings_.utc_offset_ms),
      contents_(std::move(contents)),
      lines_per_stripe_((rules_.size() + HitLine::kCounts - 1) / HitLine::kCounts),
      hits_(new HitLine[kHitStripes * lines_per_stripe_]) {}

UserSegment CompiledRuleSet::Segment(std::optional<int> age) const {
  UserSegment segment;
  segment.elderly = age.has_value() && *age >= settings_.elderly_age;
  segment.per_txn_cap_minor =
      segment.elderly ? settings_.elderly_per_txn_cap_minor : settings_.standard_per_txn_cap_minor;
  segment.daily_cap_minor =
      segment.elderly ? settings_.elderly_daily_cap_minor : settings_.standard_daily_cap_minor;
  return segment;
}

absl::Status CompiledRuleSet::CheckGrant(const GrantMandateRequest& request,
                                         const UserSegment& segment,
                                         const UserProfile* profile) const {
  if (segment.elderly && settings_.elderly_requires_risk_assessment &&
      (profile == nullptr || !profile->risk_assessment_completed)) {
    return absl::FailedPreconditionError(
        absl::StrCat("user_id: the user is ", settings_.elderly_age,
                     " or older and has no completed risk assessment; complete one before granting "
                     "password-free payment"));
  }
  return CheckCaps("mandate limits", request.per_txn_limit_minor, request.daily_limit_minor,
                   segment, settings_.currency);
}

absl::Status CompiledRuleSet::CheckProfile(const UserProfile& profile,
                                           const UserSegment& segment) const {
  return CheckCaps("the user's own caps", profile.per_txn_limit_minor, profile.daily_limit_minor,
                   segment, settings_.currency);
}

Verdict CompiledRuleSet::Evaluate(const Facts& facts) const {
  // Per-thread cache of shared sub-expressions, grown once to the largest plan seen.
  thread_local std::vector<Value> memo;
  thread_local std::vector<uint8_t> memo_done;
  const size_t slots = static_cast<size_t>(plan_.memo_slots);
  if (memo.size() < slots) {
    memo.resize(slots);
    memo_done.resize(slots);
  }
  std::fill_n(memo_done.begin(), slots, 0);
  EvalContext context;
  context.facts = &facts;
  context.memo = absl::MakeSpan(memo.data(), slots);
  context.memo_done = absl::MakeSpan(memo_done.data(), slots);

  // Threads take stripes in turn as they first evaluate; with up to kHitStripes threads each
  // has its own.
  static std::atomic<size_t> next_stripe{0};
  thread_local const size_t stripe =
      next_stripe.fetch_add(1, std::memory_order_relaxed) % kHitStripes;
  Verdict verdict;
  for (const bool second_phase : {false, true}) {
    context.decision = verdict.decision;
    for (size_t i = 0; i < rules_.size(); ++i) {
      const CompiledRule& rule = rules_[i];
      if (rule.reads_decision != second_phase) continue;
      if (!rules::Evaluate(plan_, rule.root, context).i) continue;
      hits(stripe, i).fetch_add(1, std::memory_order_relaxed);
      if (rule.mode == RuleMode::kShadow) {
        verdict.shadow_hits.push_back(RuleHit{rule.action, rule.reason});
        continue;
      }
      verdict.hits.push_back(RuleHit{rule.action, rule.reason});
      verdict.decision = Combine(verdict.decision, rule.action);
      verdict.notify_user = verdict.notify_user || rule.notify;
    }
  }
  context.decision = verdict.decision;
  verdict.notify_user =
      verdict.notify_user || (notify_root_ >= 0 && rules::Evaluate(plan_, notify_root_, context).i);
  return verdict;
}

std::vector<RuleStats> CompiledRuleSet::Stats() const {
  std::vector<RuleStats> stats;
  stats.reserve(rules_.size());
  for (size_t i = 0; i < rules_.size(); ++i) {
    uint64_t count = 0;
    for (size_t stripe = 0; stripe < kHitStripes; ++stripe) {
      count += hits(stripe, i).load(std::memory_order_relaxed);
    }
    stats.push_back(RuleStats{rules_[i].id, rules_[i].mode, count});
  }
  return stats;
}

}  // namespace vigil::rules
