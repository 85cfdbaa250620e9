// The rule compiler as a risk analyst meets it: every class of mistake names file:line:column,
// and a correct rule set decides as written.

#include "engine/rules/compiler.h"

#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/rules/rule_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigil::rules {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kSettings[] = R"(settings:
  currency: CNY
  utc_offset: "+08:00"
  elderly_age: 60
  elderly_requires_risk_assessment: true
  dormant_after: 90d
  caps:
    standard: {per_txn: 1000 CNY, daily: 2000 CNY}
    elderly: {per_txn: 200 CNY, daily: 500 CNY}
)";

ListFileReader NoListFiles() {
  return [](const std::string& name) -> absl::StatusOr<std::string> {
    if (name == "lists/games.txt") return std::string("5816\n# comment\n7994  # arcades\n");
    return absl::NotFoundError("no such file");
  };
}

CompileOutput Compile(const std::string& rules) {
  return CompileRuleFiles({{"a_settings.yaml", kSettings}, {"b_rules.yaml", rules}}, NoListFiles());
}

// The diagnostics' texts, errors only.
std::vector<std::string> Errors(const CompileOutput& output) {
  std::vector<std::string> errors;
  for (const Diagnostic& d : output.diagnostics) {
    if (d.severity == Severity::kError) errors.push_back(d.ToString());
  }
  return errors;
}

std::string Rule(const std::string& when, const std::string& extra = "") {
  return absl::StrCat("rules:\n  - id: r1\n    when: ", when,
                      "\n    action: challenge\n    code: R1\n", extra);
}

struct ErrorCase {
  std::string name;
  std::string rules;
  std::string expected;  // a prefix of the one error: file:line:column: error: ...
};

TEST(CompilerTest, EachMistakeNamesFileLineAndColumn) {
  const ErrorCase cases[] = {
      {"yaml syntax", "rules:\n  - id: [r1\n", "b_rules.yaml:3:1: error: "},
      {"expression syntax", Rule("txn.amount > > 5 CNY"),
       "b_rules.yaml:3:24: error: expected a value"},
      {"unknown field", Rule("user.agee > 60"),
       "b_rules.yaml:3:11: error: unknown name \"user.agee\"; did you mean \"user.age\"?"},
      {"unknown list", Rule("txn.merchant_category in lists.gmaes"),
       "b_rules.yaml:3:36: error: unknown list \"lists.gmaes\""},
      {"unknown param", Rule("txn.amount > params.cap"),
       "b_rules.yaml:3:24: error: unknown param \"params.cap\""},
      {"type mismatch", Rule("txn.amount > 200"),
       "b_rules.yaml:3:22: error: \">\" compares two numbers, amounts or durations, got money "
       "and int; write money with its currency"},
      {"not a bool", Rule("txn.amount"),
       "b_rules.yaml:3:11: error: expected a bool expression, got money"},
      {"unknown window unit", Rule("user.approvals(3w) > 1"),
       "b_rules.yaml:3:27: error: unknown duration unit \"w\""},
      {"window not a duration", Rule("user.approvals(3) > 1"),
       "b_rules.yaml:3:26: error: user.approvals takes a constant duration"},
      {"unknown function", Rule("user.aprovals(1h) > 1"),
       "b_rules.yaml:3:11: error: unknown function \"user.aprovals\"; did you mean "
       "\"user.approvals\"?"},
      {"wrong currency", Rule("txn.amount > 5 USD"),
       "b_rules.yaml:3:24: error: money in USD, but the rule set's currency is CNY"},
      {"unknown channel", Rule("txn.channel == \"AUTO_DEBT\""),
       "b_rules.yaml:3:26: error: \"AUTO_DEBT\" is not a value of this field"},
      {"unknown rule key", Rule("true", "    modee: shadow\n"),
       "b_rules.yaml:6:5: error: unknown key \"modee\" in a rule"},
      {"unknown action", "rules:\n  - id: r1\n    when: true\n    action: block\n    code: R1\n",
       "b_rules.yaml:4:13: error: unknown action \"block\""},
      {"bad reason code", "rules:\n  - id: r1\n    when: true\n    action: decline\n    code: r1\n",
       "b_rules.yaml:5:11: error: reason code \"r1\" must be UPPER_SNAKE_CASE"},
      {"missing when", "rules:\n  - id: r1\n    action: decline\n    code: R1\n",
       "b_rules.yaml:2:5: error: a rule is missing \"when\""},
      {"duplicate rule id",
       Rule("true") + "  - id: r1\n    when: false\n    action: decline\n    code: R2\n",
       "b_rules.yaml:6:9: error: rule id \"r1\" is already used at b_rules.yaml:2"},
      {"macro cycle", "macros:\n  a: b\n  b: a\n" + Rule("a"),
       "b_rules.yaml:3:6: error: macro \"a\" refers to itself"},
      {"missing list file", "lists:\n  x: {file: lists/none.txt}\n",
       "b_rules.yaml:2:13: error: cannot read list file \"lists/none.txt\""},
      {"block scalar",
       "rules:\n  - id: r1\n    when: |\n      true\n        && user.nope\n"
       "    action: decline\n    code: R1\n",
       "b_rules.yaml:5:12: error: unknown name \"user.nope\""},
      {"quoted scalar", Rule("\"txn.amount >= 1 CNY && nope\""),
       "b_rules.yaml:3:35: error: unknown name \"nope\""},
      {"deep nesting", Rule(std::string(100, '(') + "true" + std::string(100, ')')),
       "b_rules.yaml:3:"},
      {"unknown section", "rulez: []\n", "b_rules.yaml:1:1: error: unknown section \"rulez\""},
  };
  for (const ErrorCase& c : cases) {
    const CompileOutput output = Compile(c.rules);
    EXPECT_EQ(output.rule_set, nullptr) << c.name;
    const std::vector<std::string> errors = Errors(output);
    ASSERT_FALSE(errors.empty()) << c.name;
    EXPECT_THAT(errors[0], ::testing::StartsWith(c.expected)) << c.name << "\nall errors:\n"
                                                              << absl::StrJoin(errors, "\n");
  }
}

TEST(CompilerTest, DuplicateIdsAcrossFilesAndTwoSettingsAreErrors) {
  const std::string rule = Rule("true");
  const CompileOutput output = CompileRuleFiles(
      {{"a.yaml", kSettings}, {"b.yaml", rule}, {"c.yaml", rule}, {"d.yaml", kSettings}},
      NoListFiles());
  EXPECT_THAT(Errors(output),
              ElementsAre("c.yaml:2:9: error: rule id \"r1\" is already used at b.yaml:2",
                          HasSubstr("d.yaml:2:3: error: a second \"settings\" section")));
}

TEST(CompilerTest, NoSettingsIsAnError) {
  const CompileOutput output = CompileRuleFiles({{"only.yaml", Rule("true")}}, NoListFiles());
  EXPECT_THAT(Errors(output), ElementsAre(HasSubstr("no file of the rule set has a \"settings\"")));
}

// settings.notices is optional, each key in it too; a bad value says where and why.
TEST(CompilerTest, NoticeSettingsHaveDefaultsAndBadOnesAreErrors) {
  const CompileOutput defaults = Compile(Rule("true"));
  ASSERT_NE(defaults.rule_set, nullptr);
  EXPECT_EQ(defaults.rule_set->notice_schedule().summary_day, 1);
  EXPECT_EQ(defaults.rule_set->notice_schedule().scan_at_ms, 9 * 3'600'000);

  auto with = [](const std::string& notices) {
    return CompileRuleFiles(
        {{"a_settings.yaml", absl::StrCat(kSettings, "  notices: ", notices, "\n")},
         {"b_rules.yaml", Rule("true")}},
        NoListFiles());
  };
  const CompileOutput set = with("{scan_at: \"07:30\", summary_day: 5, expiring_within: 3d}");
  ASSERT_NE(set.rule_set, nullptr) << absl::StrJoin(Errors(set), "\n");
  EXPECT_EQ(set.rule_set->notice_schedule().scan_at_ms, (7 * 60 + 30) * 60'000);
  EXPECT_EQ(set.rule_set->notice_schedule().summary_day, 5);
  EXPECT_EQ(set.rule_set->notice_schedule().expiring_within_ms, 3 * 86'400'000);

  EXPECT_THAT(Errors(with("{summary_day: 31}")),
              ElementsAre(HasSubstr("a_settings.yaml:10:26: error: expected a day of the month "
                                    "from 1 to 28")));
  EXPECT_THAT(Errors(with("{scan_at: 9am}")),
              ElementsAre(HasSubstr("expected a local time of day such as \"09:00\"")));
  EXPECT_THAT(Errors(with("{scan_at: \"24:00\"}")), ElementsAre(HasSubstr("time of day")));
  EXPECT_THAT(Errors(with("{send_at: \"09:00\"}")), ElementsAre(HasSubstr("send_at")));
}

TEST(CompilerTest, UnusedMacroIsAWarningNotAnError) {
  const CompileOutput output = Compile("macros:\n  spare: true\n" + Rule("true"));
  ASSERT_NE(output.rule_set, nullptr);
  ASSERT_EQ(output.diagnostics.size(), 1u);
  EXPECT_EQ(output.diagnostics[0].ToString(),
            "b_rules.yaml:2:3: warning: macro \"spare\" is never used");
}

TEST(CompilerTest, CollectsExactlyTheWindowsTheRulesRead) {
  const CompileOutput output = Compile(
      "macros:\n  busy: user.approvals(1h) >= 3\n"
      "rules:\n"
      "  - {id: a, when: busy && device.attempts(10m) > 5, action: challenge, code: A}\n"
      "  - {id: b, when: busy || user.approved_amount(1h) > 100 CNY, action: challenge, code: B}\n"
      "  - {id: c, when: mandate.approvals(7d) > 1 && user.distinct_merchants(10m) > 2,"
      " action: challenge, code: C}\n");
  ASSERT_NE(output.rule_set, nullptr) << absl::StrJoin(Errors(output), "\n");
  std::vector<std::string> windows;
  for (const WindowSpec& spec : output.rule_set->layout().specs()) {
    windows.push_back(absl::StrCat(SubjectName(spec.subject), ":", static_cast<int>(spec.metric),
                                   ":", spec.shape.span_ms / 1000, "s"));
  }
  // approvals(1h) and approved_amount(1h) share one window.
  EXPECT_THAT(windows,
              ElementsAre("user:0:3600s", "device:1:600s", "mandate:0:604800s", "user:2:600s"));
}

TEST(CompilerTest, VersionIsAFingerprintOfTheContent) {
  const CompileOutput a = Compile(Rule("true"));
  const CompileOutput b = Compile(Rule("true"));
  const CompileOutput c = Compile(Rule("false"));
  ASSERT_TRUE(a.rule_set && b.rule_set && c.rule_set);
  EXPECT_EQ(a.rule_set->version(), b.rule_set->version());
  EXPECT_NE(a.rule_set->version(), c.rule_set->version());
}

TEST(CompilerTest, ShippedRulesCompileWithoutDiagnostics) {
  const CompileOutput output = CompileRuleDirectory(VIGIL_RULES_DIR);
  ASSERT_NE(output.rule_set, nullptr) << absl::StrJoin(Errors(output), "\n");
  EXPECT_THAT(output.diagnostics, IsEmpty());
  EXPECT_EQ(output.rule_set->settings().standard_per_txn_cap_minor, 100000);
  EXPECT_EQ(output.rule_set->settings().elderly_daily_cap_minor, 50000);
  EXPECT_EQ(output.rule_set->dormant_after_ms(), int64_t{90} * 24 * 3600 * 1000);
}

TEST(CompilerTest, TheLanguageReferenceDocumentsEveryFieldAndFunction) {
  std::ifstream file(std::string(VIGIL_RULES_DIR) + "/README.md");
  std::ostringstream text;
  text << file.rdbuf();
  const std::string reference = text.str();
  for (const FieldInfo& field : AllFields()) {
    EXPECT_THAT(reference, HasSubstr(absl::StrCat("| `", field.name, "` |"))) << field.name;
  }
  for (const VelocityFunction& function : AllVelocityFunctions()) {
    EXPECT_THAT(reference, HasSubstr(absl::StrCat("| `", function.method, "(W)` |")))
        << function.method;
  }
}

TEST(RuleSetTest, MissingDirectoryIsNotFoundAndBrokenRulesAreInvalid) {
  EXPECT_EQ(LoadRuleSet("/no/such/dir").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(LoadRuleSet(VIGIL_RULES_DIR).ok());
}

// --- deciding -----------------------------------------------------------------------------------

constexpr int64_t kNow = 1'795'737'600'000;  // 2026-11-27T00:00:00Z

class DecideTest : public ::testing::Test {
 protected:
  // Compiles `rules` after the settings, and an engine deciding with it; the user "u" has a
  // general mandate.
  void Use(const std::string& rules) {
    CompileOutput output = Compile(rules);
    ASSERT_NE(output.rule_set, nullptr) << absl::StrJoin(Errors(output), "\n");
    rule_set_ = output.rule_set.get();
    engine_ = Engine::Create(std::shared_ptr<const Policy>(std::move(output.rule_set)), &clock_,
                             EngineOptions{});
    GrantMandateRequest grant;
    grant.user_id = "u";
    grant.merchant_id = "*";
    grant.consent = Consent{true, "t", kNow - 1000, ""};
    ASSERT_TRUE(engine_->GrantMandate(grant).ok());
  }

  AuthorizeResponse Decide(int64_t amount_minor, const std::string& device = "",
                           const std::string& mcc = "") {
    AuthorizeRequest request;
    request.transaction_id = absl::StrCat("t", next_++);
    request.user_id = "u";
    request.merchant_id = "m";
    request.amount_minor = amount_minor;
    request.currency = "CNY";
    request.device_id = device;
    request.merchant_category = mcc;
    absl::StatusOr<AuthorizeResponse> response = engine_->Authorize(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : AuthorizeResponse{};
  }

  // An APPROVE that no rule objected to.
  static bool PlainApprove(const AuthorizeResponse& response) {
    return response.decision == Decision::kApprove && response.reasons.empty();
  }

  static std::vector<std::string> Codes(const std::vector<const Reason*>& reasons) {
    std::vector<std::string> codes;
    for (const Reason* reason : reasons) codes.push_back(reason->code);
    return codes;
  }

  FakeClock clock_{kNow};
  std::unique_ptr<Engine> engine_;
  const CompiledRuleSet* rule_set_ = nullptr;
  int next_ = 0;
};

TEST_F(DecideTest, ShadowRulesAreReportedButNeverDecide) {
  Use("rules:\n"
      "  - {id: big, when: txn.amount > 10 CNY, action: decline, code: BIG, mode: shadow}\n"
      "  - {id: huge, when: txn.amount > 100 CNY, action: challenge, code: HUGE}\n");
  const AuthorizeResponse big = Decide(5000);
  EXPECT_EQ(big.decision, Decision::kApprove);
  EXPECT_THAT(Codes(big.reasons), IsEmpty());
  EXPECT_THAT(Codes(big.shadow_reasons), ElementsAre("BIG"));
  const AuthorizeResponse huge = Decide(50000);
  EXPECT_EQ(huge.decision, Decision::kChallenge);
  EXPECT_THAT(Codes(huge.reasons), ElementsAre("HUGE"));
  EXPECT_THAT(Codes(huge.shadow_reasons), ElementsAre("BIG"));
  const std::vector<RuleStats> stats = rule_set_->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].id, "big");
  EXPECT_EQ(stats[0].mode, RuleMode::kShadow);
  EXPECT_EQ(stats[0].hits, 2u);
  EXPECT_EQ(stats[1].hits, 1u);
}

TEST_F(DecideTest, HitsFromEveryThreadAreCounted) {
  // More threads than the counters have stripes, so that some threads share one.
  Use("rules:\n"
      "  - {id: big, when: txn.amount > 10 CNY, action: challenge, code: BIG}\n"
      "  - {id: never, when: txn.amount > 1000000 CNY, action: decline, code: NEVER}\n");
  constexpr int kThreads = 12;
  constexpr int kPerThread = 250;
  AuthorizeRequest request;
  request.amount_minor = 5000;
  request.currency = "CNY";
  Facts facts;
  facts.request = &request;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        const Verdict verdict = rule_set_->Evaluate(facts);
        EXPECT_EQ(verdict.decision, Decision::kChallenge);
        EXPECT_EQ(verdict.hits.size(), 1u);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const AuthorizeResponse here = Decide(5000);  // and one on this thread
  EXPECT_EQ(here.decision, Decision::kChallenge);
  EXPECT_THAT(Codes(here.reasons), ElementsAre("BIG"));
  const std::vector<RuleStats> stats = rule_set_->Stats();
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_EQ(stats[0].hits, uint64_t{kThreads * kPerThread + 1});
  EXPECT_EQ(stats[1].hits, 0u);
}

TEST_F(DecideTest, ATenMinuteDeviceWindowNeedsNoCode) {
  Use("rules:\n"
      "  - id: device.burst\n"
      "    when: device.attempts(10m) >= 3\n"
      "    exceptions: ['txn.device_id == \"\"']\n"
      "    action: challenge\n"
      "    code: DEVICE_BURST\n");
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(PlainApprove(Decide(100, "phone-1")));
  const AuthorizeResponse fourth = Decide(100, "phone-1");
  EXPECT_EQ(fourth.decision, Decision::kChallenge);
  EXPECT_THAT(Codes(fourth.reasons), ElementsAre("DEVICE_BURST"));
  EXPECT_TRUE(PlainApprove(Decide(100, "phone-2"))) << "another device";
  EXPECT_TRUE(PlainApprove(Decide(100))) << "the exception: no device id";
  clock_.AdvanceMs(11 * 60 * 1000);
  EXPECT_TRUE(PlainApprove(Decide(100, "phone-1"))) << "the window moved on";
}

TEST_F(DecideTest, ListsExceptionsAndPrecedence) {
  Use("lists:\n  games: {file: lists/games.txt}\n  vip: [m]\n"
      "rules:\n"
      "  - {id: games, when: txn.merchant_category in lists.games, action: challenge,"
      " code: GAMES}\n"
      "  - {id: games_big, when: 'txn.merchant_category in lists.games && txn.amount > 50 CNY',"
      " action: decline, code: GAMES_BIG, exceptions: ['txn.merchant_id in lists.vip']}\n"
      "  - {id: off, when: true, action: decline, code: OFF, enabled: false}\n"
      "  - {id: after, when: decision.challenge, action: decline, code: AFTER}\n");
  EXPECT_EQ(Decide(100, "", "1234").decision, Decision::kApprove);
  const AuthorizeResponse game = Decide(100, "", "7994");
  EXPECT_EQ(game.decision, Decision::kDecline);
  // The rule reading decision.* runs last, on what the others decided.
  EXPECT_THAT(Codes(game.reasons), ElementsAre("GAMES", "AFTER"));
  EXPECT_THAT(Codes(Decide(10000, "", "5816").reasons), ElementsAre("GAMES", "AFTER"))
      << "games_big does not apply to the vip merchant m";
}

TEST_F(DecideTest, NotifyFollowsSettingsAndRules) {
  Use("rules:\n  - {id: n, when: txn.amount > 10 CNY, action: approve, code: NOTE, notify: "
      "true}\n");
  EXPECT_FALSE(Decide(500).notify_user);
  const AuthorizeResponse noted = Decide(5000);
  EXPECT_TRUE(noted.notify_user);
  EXPECT_EQ(noted.decision, Decision::kApprove);
  EXPECT_THAT(Codes(noted.reasons), ElementsAre("NOTE"));
}

}  // namespace
}  // namespace vigil::rules
