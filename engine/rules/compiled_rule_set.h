#pragma once

// CompiledRuleSet is a rule set ready to decide: the settings, the plan of every expression, the
// rules in their documented order, and per-rule hit counters. It is the Policy the engine calls.
//
// Evaluation order (the precedence rules/README.md documents):
//   1. Every enabled rule that does not read decision.*, in file order (files sorted by name),
//      then in the order they are written. Enforced rules combine DECLINE > CHALLENGE > APPROVE;
//      shadow rules only report.
//   2. Every enabled rule that reads decision.*, in the same order, seeing the decision of the
//      enforced rules of step 1.
//   3. settings.notify_user, seeing the final decision; any fired rule with `notify: true`
//      also notifies.
//
// Immutable except for its hit counters, which are atomic; thread-safe. Evaluate() allocates
// nothing once a thread has evaluated this rule set (its cache lives in thread-local storage).

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/optimization.h"
#include "engine/core/policy.h"
#include "engine/rules/planner.h"

namespace vigil::rules {

enum class RuleMode { kEnforce, kShadow };

struct CompiledRule {
  std::string id;
  Decision action = Decision::kChallenge;
  RuleMode mode = RuleMode::kEnforce;
  bool notify = false;
  bool reads_decision = false;
  int32_t root = -1;               // the plan node of `when && !(exceptions)`
  const Reason* reason = nullptr;  // interned: answers keep it after the rule set is gone
};

struct RuleSetSettings {
  std::string currency;
  int64_t utc_offset_ms = 0;
  int elderly_age = 60;
  bool elderly_requires_risk_assessment = true;
  int64_t dormant_after_ms = 0;
  int64_t standard_per_txn_cap_minor = 0;
  int64_t standard_daily_cap_minor = 0;
  int64_t elderly_per_txn_cap_minor = 0;
  int64_t elderly_daily_cap_minor = 0;
  NoticeSchedule notices;
};

// What a rule set was compiled from, as a risk analyst reads it: every rule (disabled ones
// too), param and list, in the order of their files. For `vigil-rules show` and the console.
struct RuleSetContents {
  struct Rule {
    std::string id;
    std::string file;
    int line = 0;
    std::string description;
    std::string when;
    std::vector<std::string> exceptions;
    std::string action;  // approve, challenge, decline
    std::string mode;    // enforce, shadow
    std::string code;
    bool notify = false;
    bool enabled = true;
  };
  struct Param {
    std::string name;
    std::string value;  // as written
    std::string file;
  };
  struct List {
    std::string name;
    std::string file;  // the list file (relative to the directory), or the rule file it is in
    size_t size = 0;
  };
  std::vector<Rule> rules;
  std::vector<Param> params;
  std::vector<List> lists;
  std::string notify_user;  // settings.notify_user, as written
};

struct RuleStats {
  std::string id;
  RuleMode mode;
  uint64_t hits;
};

class CompiledRuleSet final : public Policy {
 public:
  // `rules` are the enabled rules in evaluation order; `notify_root` is a plan node.
  CompiledRuleSet(RuleSetSettings settings, Plan plan, std::vector<CompiledRule> rules,
                  int32_t notify_root, std::vector<WindowSpec> windows, std::string version,
                  RuleSetContents contents = {});

  absl::string_view version() const override { return *version_; }
  const LocalCalendar& calendar() const override { return calendar_; }
  const WindowLayout& layout() const override { return layout_; }
  int64_t dormant_after_ms() const override { return settings_.dormant_after_ms; }
  absl::string_view currency() const override { return settings_.currency; }
  NoticeSchedule notice_schedule() const override { return settings_.notices; }
  UserSegment Segment(std::optional<int> age) const override;
  absl::Status CheckGrant(const GrantMandateRequest& request, const UserSegment& segment,
                          const UserProfile* profile) const override;
  absl::Status CheckProfile(const UserProfile& profile, const UserSegment& segment) const override;
  Verdict Evaluate(const Facts& facts) const override;

  const RuleSetSettings& settings() const { return settings_; }
  const std::vector<CompiledRule>& rules() const { return rules_; }
  const Plan& plan() const { return plan_; }
  const RuleSetContents& contents() const { return contents_; }
  // How often each rule fired (enforced) or would have (shadow) since this set was loaded.
  std::vector<RuleStats> Stats() const;

 private:
  RuleSetSettings settings_;
  Plan plan_;
  std::vector<CompiledRule> rules_;
  int32_t notify_root_;
  WindowLayout layout_;
  const std::string* version_;  // interned
  LocalCalendar calendar_;
  RuleSetContents contents_;
  // Hit counters in kHitStripes copies, each on cache lines of its own, summed by Stats(): a
  // thread counts in its own stripe, so the server threads do not pass the counters' cache
  // lines between their cores on every decision.
  static constexpr size_t kHitStripes = 8;
  struct alignas(ABSL_CACHELINE_SIZE) HitLine {
    static constexpr size_t kCounts = ABSL_CACHELINE_SIZE / sizeof(std::atomic<uint64_t>);
    std::atomic<uint64_t> counts[kCounts] = {};
  };
  std::atomic<uint64_t>& hits(size_t stripe, size_t rule) const {
    return hits_[stripe * lines_per_stripe_ + rule / HitLine::kCounts]
        .counts[rule % HitLine::kCounts];
  }
  size_t lines_per_stripe_;
  std::unique_ptr<HitLine[]> hits_;
};

}  // namespace vigil::rules
