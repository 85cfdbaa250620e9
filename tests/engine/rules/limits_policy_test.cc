#include "engine/rules/limits_policy.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_replace.h"
#include "engine/rules/rule_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::rules {
namespace {

using ::testing::HasSubstr;

std::string ShippedPolicy() {
  std::ifstream file(std::string(VIGIL_RULES_DIR) + "/policy.yaml");
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

TEST(LimitsPolicyTest, ShippedRulesCarryApiDefaults) {
  absl::StatusOr<std::unique_ptr<LimitsPolicy>> policy =
      ParseLimitsPolicy(ShippedPolicy(), "policy.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  const LimitsConfig& config = (*policy)->config();
  EXPECT_EQ(config.currency, "CNY");
  EXPECT_EQ(config.utc_offset_ms, 8 * 3600 * 1000);
  EXPECT_EQ(config.elderly_age, 60);
  EXPECT_EQ(config.standard.per_txn_cap_minor, 100000);
  EXPECT_EQ(config.standard.daily_cap_minor, 200000);
  EXPECT_EQ(config.elderly.per_txn_cap_minor, 20000);
  EXPECT_EQ(config.elderly.daily_cap_minor, 50000);
  EXPECT_EQ(config.standard.approvals_1h, 10);
  EXPECT_EQ(config.standard.approvals_3h, 20);
  EXPECT_EQ(config.elderly.approvals_1h, 5);
  EXPECT_EQ(config.elderly.approvals_3h, 10);
  EXPECT_EQ(config.dormant_after_ms, int64_t{90} * 24 * 3600 * 1000);
}

TEST(LimitsPolicyTest, NumbersComeFromTheFile) {
  const std::string edited = absl::StrReplaceAll(
      ShippedPolicy(), {{"per_txn_cap: 1000.00 CNY", "per_txn_cap: 800.00 CNY"}});
  absl::StatusOr<std::unique_ptr<LimitsPolicy>> policy = ParseLimitsPolicy(edited, "p.yaml");
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_EQ((*policy)->Segment(30).per_txn_cap_minor, 80000);
}

TEST(LimitsPolicyTest, VersionFollowsContent) {
  const std::string text = ShippedPolicy();
  auto a = ParseLimitsPolicy(text, "a.yaml");
  auto b = ParseLimitsPolicy(text, "b.yaml");
  auto c = ParseLimitsPolicy(text + "\n# a comment\n", "c.yaml");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ((*a)->version(), (*b)->version());
  EXPECT_NE((*a)->version(), (*c)->version());
}

TEST(LimitsPolicyTest, ElderlyFromAge) {
  auto policy = ParseLimitsPolicy(ShippedPolicy(), "p.yaml");
  ASSERT_TRUE(policy.ok());
  EXPECT_FALSE((*policy)->Segment(59).elderly);
  EXPECT_TRUE((*policy)->Segment(60).elderly);
  EXPECT_FALSE((*policy)->Segment(std::nullopt).elderly) << "no profile: a standard adult";
  EXPECT_EQ((*policy)->Segment(75).per_txn_cap_minor, 20000);
}

struct BrokenCase {
  std::string from;
  std::string to;
  std::string where;  // file:line:column
  std::string what;
};

TEST(LimitsPolicyTest, MistakesNameFileLineAndColumn) {
  const BrokenCase cases[] = {
      {"per_txn_cap: 1000.00 CNY", "per_txn_cap: 1000.00 USD", "p.yaml:26:18:", "in CNY"},
      {"per_txn_cap: 1000.00 CNY", "per_txn_cap: lots", "p.yaml:26:18:", "<amount> <CUR>"},
      {"approvals_1h: 10", "approvals_1h: ten", "p.yaml:28:19:", "whole number"},
      {"approvals_1h: 10", "aprovals_1h: 10", "p.yaml:28:5:", "unknown key \"aprovals_1h\""},
      {"dormant_after: 90d", "dormant_after: 90 days", "p.yaml:16:18:", "duration"},
      {"utc_offset: \"+08:00\"", "utc_offset: \"+8\"", "p.yaml:9:15:", "+HH:MM"},
      {"notify_always: true", "notify_always: yes please", "p.yaml:38:20:", "true or false"},
      {"currency: CNY", "currency: [CNY", "p.yaml:", "end of sequence flow not found"},
  };
  const std::string shipped = ShippedPolicy();
  for (const BrokenCase& c : cases) {
    ASSERT_THAT(shipped, HasSubstr(c.from));
    const std::string broken = absl::StrReplaceAll(shipped, {{c.from, c.to}});
    const absl::Status status = ParseLimitsPolicy(broken, "p.yaml").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.to;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.where)) << c.to;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.what)) << c.to;
  }
}

TEST(LimitsPolicyTest, MissingKeyIsAnError) {
  const std::string broken = absl::StrReplaceAll(ShippedPolicy(), {{"    approvals_3h: 10\n", ""}});
  const absl::Status status = ParseLimitsPolicy(broken, "p.yaml").status();
  EXPECT_THAT(std::string(status.message()), HasSubstr("missing the key \"approvals_3h\""));
}

TEST(RuleSetTest, LoadsTheShippedDirectoryAndReportsAMissingOne) {
  EXPECT_TRUE(LoadRuleSet(VIGIL_RULES_DIR).ok());
  EXPECT_EQ(LoadRuleSet("/no/such/dir").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil::rules
