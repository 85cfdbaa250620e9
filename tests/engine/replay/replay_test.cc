// Replay: a log recorded by an engine with a journal, written out as vigilctl export-decisions
// writes it, decided again under the same rules and under changed ones. (tests/tools/
// replay_test.sh records its log from a real vigild.)

#include "engine/replay/replay.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "engine/codec/codec.h"
#include "engine/core/engine.h"
#include "engine/rules/rule_set.h"
#include "engine/store/memory_journal.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "vigil/v1/vigil.pb.h"

namespace vigil::replay {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kDay = 24 * 60 * kMinute;
constexpr int64_t kYuan = 100;
// 2026-11-08 09:00 in Shanghai.
constexpr int64_t kStart = 1'794'099'600'000;

std::shared_ptr<const Policy> LoadRules(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(dir);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return policy.ok() ? std::shared_ptr<const Policy>(*std::move(policy)) : nullptr;
}

// The shipped rules with one line of policy.yaml changed.
std::string ChangedRules(const std::string& from, const std::string& to) {
  const fs::path dir = fs::path(::testing::TempDir()) / "replay_rules";
  fs::remove_all(dir);
  fs::copy(VIGIL_RULES_DIR, dir, fs::copy_options::recursive);
  std::stringstream text;
  text << std::ifstream(dir / "policy.yaml").rdbuf();
  const std::string changed = absl::StrReplaceAll(text.str(), {{from, to}});
  EXPECT_NE(changed, text.str()) << "policy.yaml has no \"" << from << "\"";
  std::ofstream(dir / "policy.yaml") << changed;
  return dir.string();
}

// Records what an engine decides, as the decision log's JSON lines.
class Recorder {
 public:
  explicit Recorder(bool trust_client_time = false)
      : engine_(Engine::Create(
            LoadRules(VIGIL_RULES_DIR), &clock_,
            EngineOptions{
                .trust_client_time = trust_client_time, .id_seed = 99, .journal = &journal_})) {}

  Engine& engine() { return *engine_; }
  FakeClock& clock() { return clock_; }

  std::string Grant(const std::string& user, const std::string& merchant,
                    int64_t per_txn_limit_minor = 0) {
    GrantMandateRequest grant;
    grant.user_id = user;
    grant.merchant_id = merchant;
    grant.per_txn_limit_minor = per_txn_limit_minor;
    grant.consent = Consent{true, "terms-3", clock_.NowMs(), "app"};
    absl::StatusOr<Mandate> mandate = engine_->GrantMandate(grant);
    EXPECT_TRUE(mandate.ok()) << mandate.status();
    return mandate.ok() ? mandate->mandate_id : "";
  }

  Decision Charge(const std::string& txn, const std::string& user, int64_t amount_minor,
                  const std::string& merchant = "shop", int64_t event_time_ms = 0) {
    AuthorizeRequest request;
    request.transaction_id = txn;
    request.user_id = user;
    request.merchant_id = merchant;
    request.amount_minor = amount_minor;
    request.currency = "CNY";
    request.channel = Channel::kInApp;
    request.device_id = absl::StrCat("device-", user);
    request.event_time_ms = event_time_ms;
    absl::StatusOr<AuthorizeResponse> response = engine_->Authorize(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->decision : Decision::kDecline;
  }

  // The log as `vigilctl export-decisions` prints it.
  std::vector<std::string> Lines() {
    std::vector<std::string> lines;
    google::protobuf::util::JsonPrintOptions options;
    options.preserve_proto_field_names = true;
    EXPECT_TRUE(journal_
                    .ExportDecisions(0, INT64_MAX,
                                     [&](const DecisionLogEntry& entry) {
                                       v1::DecisionRecord record;
                                       codec::EncodeLogEntry(entry, record);
                                       std::string line;
                                       (void)google::protobuf::util::MessageToJsonString(
                                           record, &line, options);
                                       lines.push_back(std::move(line));
                                       return true;
                                     })
                    .ok());
    return lines;
  }

 private:
  FakeClock clock_{kStart};
  store::MemoryJournal journal_;
  std::unique_ptr<Engine> engine_;
};

ReplayReport Replay(const std::vector<std::string>& lines, std::shared_ptr<const Policy> policy) {
  Replayer replayer(std::move(policy), ReplayOptions{.sample_size = 1000});
  for (const std::string& line : lines) {
    absl::StatusOr<DecisionLogEntry> entry = ParseLogLine(line);
    EXPECT_TRUE(entry.ok()) << entry.status() << "\n" << line;
    if (entry.ok()) replayer.Replay(*entry);
  }
  return replayer.Finish();
}

TEST(ReplayTest, TheRulesThatMadeALogDecideEveryChargeOfItAgainAlike) {
  Recorder log;
  Engine& engine = log.engine();
  int64_t approved = 0;
  int64_t challenged = 0;
  auto count = [&](Decision decision) {
    (decision == Decision::kApprove ? approved : challenged) += 1;
  };
  // Elderly users, whose caps are lower and who are told of every charge.
  for (int u = 0; u < 4; ++u) {
    UserProfile profile;
    profile.user_id = absl::StrCat("elder", u);
    profile.birth_date = "1950-03-01";
    profile.risk_assessment_completed = true;
    ASSERT_TRUE(engine.PutUserProfile(profile).ok());
    log.Grant(profile.user_id, "shop");
  }
  for (int u = 0; u < 6; ++u) log.Grant(absl::StrCat("user", u), "shop", u == 5 ? 50 * kYuan : 0);
  // A burst past the velocity limits, amounts around the caps, outcomes that release.
  for (int i = 0; i < 40; ++i) {
    const std::string user =
        i % 3 == 0 ? absl::StrCat("elder", i % 4) : absl::StrCat("user", i % 6);
    const std::string txn = absl::StrCat("t", i);
    count(log.Charge(txn, user, (30 + 47 * (i % 9)) * kYuan));
    if (i % 5 == 0) {
      ASSERT_TRUE(engine.ReportOutcome(txn, Outcome::kFailed).ok());
    }
    if (i % 7 == 0) {
      ASSERT_TRUE(engine.ReportOutcome(txn, Outcome::kStrongAuthPassed).ok());
    }
    log.clock().AdvanceMs(kMinute);
  }
  // Mandates paused, resumed and revoked, and charges against them.
  const std::string paused = log.Grant("user0", "cinema");
  ASSERT_TRUE(engine.PauseMandate(paused, "user0").ok());
  count(log.Charge("p1", "user0", 10 * kYuan, "cinema"));
  ASSERT_TRUE(engine.ResumeMandate(paused, "user0").ok());
  count(log.Charge("p2", "user0", 10 * kYuan, "cinema"));
  ASSERT_TRUE(engine.RevokeAllMandates("user1", "lost phone").ok());
  count(log.Charge("p3", "user1", 10 * kYuan));
  log.clock().AdvanceMs(kDay);
  count(log.Charge("next-day", "elder0", 150 * kYuan));
  ASSERT_GT(approved, 10);
  ASSERT_GT(challenged, 10) << "the log should hold both decisions";

  const ReplayReport report = Replay(log.Lines(), LoadRules(VIGIL_RULES_DIR));
  EXPECT_EQ(report.total, 44);
  EXPECT_EQ(report.changed, 0);
  EXPECT_EQ(report.reasons_changed, 0);
  EXPECT_EQ(report.refused, 0) << report.refusals.front();
  EXPECT_EQ(report.mandate_changes, 10 + 1 + 2 + 1);  // grants, cinema's three changes, user1's
  EXPECT_EQ(report.profiles, 4);
  EXPECT_EQ(report.rule_hits, report.logged_rule_hits);
  EXPECT_FALSE(report.rule_hits.empty());
  EXPECT_TRUE(report.transitions.empty());
}

TEST(ReplayTest, ALowerCapChallengesExactlyTheApprovalsAboveIt) {
  Recorder log;
  // One or two charges a user, never near the daily cap or a velocity limit: only the
  // per-transaction cap can change a decision.
  std::set<std::string> expected;
  int64_t charges = 0;
  for (int u = 0; u < 60; ++u) {
    const std::string user = absl::StrCat("u", u);
    log.Grant(user, "shop");
    for (int k = 0; k < 1 + u % 2; ++k) {
      const std::string txn = absl::StrCat(user, "-", k);
      const int64_t amount = (100 + (u * 37 + k * 211) % 900) * kYuan;
      const Decision decision = log.Charge(txn, user, amount);
      ++charges;
      if (decision == Decision::kApprove && amount > 500 * kYuan) expected.insert(txn);
      log.clock().AdvanceMs(kMinute);
    }
  }
  ASSERT_GT(expected.size(), 10u);

  const ReplayReport report = Replay(
      log.Lines(),
      LoadRules(ChangedRules("standard: {per_txn: 1000.00 CNY", "standard: {per_txn: 500.00 CNY")));
  EXPECT_EQ(report.total, charges);
  EXPECT_EQ(report.changed, static_cast<int64_t>(expected.size()));
  std::set<std::string> changed;
  for (const ChangedCharge& charge : report.sample) {
    changed.insert(charge.transaction_id);
    EXPECT_EQ(charge.logged.decision, Decision::kApprove);
    EXPECT_EQ(charge.replayed.decision, Decision::kChallenge);
    ASSERT_EQ(charge.replayed.reasons.size(), 1u);
    EXPECT_EQ(charge.replayed.reasons[0]->rule_id, "limits.per_txn");
  }
  EXPECT_EQ(changed, expected);
  EXPECT_EQ(report.transitions,
            (std::map<std::string, int64_t>{
                {"APPROVE->CHALLENGE", static_cast<int64_t>(expected.size())}}));
  EXPECT_FALSE(report.logged_rule_hits.contains("limits.per_txn"));
  EXPECT_EQ(report.rule_hits.at("limits.per_txn"), static_cast<int64_t>(expected.size()));
  EXPECT_EQ(report.top_users.size(), 10u);
}

TEST(ReplayTest, AStrongAuthenticationWakesADormantMandateAtItsOwnTime) {
  // Client time is trusted, as when a gateway replays history: the charges come 91 days after
  // the grant, while the engine's clock stays at the grant.
  Recorder log(/*trust_client_time=*/true);
  log.Grant("dormant-user", "shop");
  const int64_t later = kStart + 91 * kDay;
  ASSERT_EQ(log.Charge("wake", "dormant-user", 20 * kYuan, "shop", later), Decision::kChallenge);
  ASSERT_TRUE(log.engine().ReportOutcome("wake", Outcome::kStrongAuthPassed, later + kMinute).ok());
  EXPECT_EQ(log.Charge("after", "dormant-user", 20 * kYuan, "shop", later + 2 * kMinute),
            Decision::kApprove);

  const ReplayReport report = Replay(log.Lines(), LoadRules(VIGIL_RULES_DIR));
  EXPECT_EQ(report.total, 2);
  EXPECT_EQ(report.changed, 0);
  EXPECT_EQ(report.reasons_changed, 0);
  EXPECT_EQ(report.logged_rule_hits, (std::map<std::string, int64_t>{{"mandate.dormant", 1}}));
}

TEST(ReplayTest, AnOutcomeReportedAfterTheRetentionIsRefusedAsVigildRefusesIt) {
  Recorder log;
  log.Grant("u", "shop");
  log.Charge("old", "u", 10 * kYuan);
  log.Charge("recent", "u", 10 * kYuan);
  log.clock().AdvanceMs(8 * kDay);
  // The recording engine never forgets; vigild would have, after its 7 days.
  ASSERT_TRUE(log.engine().ReportOutcome("old", Outcome::kFailed).ok());
  const std::vector<std::string> lines = log.Lines();

  const ReplayReport report = Replay(lines, LoadRules(VIGIL_RULES_DIR));
  EXPECT_EQ(report.refused, 1);
  ASSERT_EQ(report.refusals.size(), 1u);
  EXPECT_THAT(report.refusals[0], HasSubstr("outcome of old: NOT_FOUND"));

  Replayer forever(LoadRules(VIGIL_RULES_DIR), ReplayOptions{.idempotency_retention_ms = 0});
  for (const std::string& line : lines) forever.Replay(*ParseLogLine(line));
  EXPECT_EQ(forever.Finish().refused, 0);
}

TEST(ReplayTest, ReplayingTwiceGivesTheSameReport) {
  Recorder log;
  for (int u = 0; u < 20; ++u) {
    log.Grant(absl::StrCat("u", u), "shop");
    for (int k = 0; k < 12; ++k)
      log.Charge(absl::StrCat(u, "-", k), absl::StrCat("u", u), 90 * kYuan);
  }
  const std::vector<std::string> lines = log.Lines();
  const std::string rules = ChangedRules("standard: {per_txn: 1000.00 CNY, daily: 2000.00 CNY}",
                                         "standard: {per_txn: 1000.00 CNY, daily: 500.00 CNY}");
  const ReplayReport first = Replay(lines, LoadRules(rules));
  const ReplayReport second = Replay(lines, LoadRules(rules));
  ASSERT_GT(first.changed, 0);
  EXPECT_EQ(first.changed, second.changed);
  EXPECT_EQ(first.transitions, second.transitions);
  EXPECT_EQ(first.rule_hits, second.rule_hits);
  EXPECT_EQ(first.top_users, second.top_users);
  ASSERT_EQ(first.sample.size(), second.sample.size());
  for (size_t i = 0; i < first.sample.size(); ++i) {
    EXPECT_EQ(first.sample[i].transaction_id, second.sample[i].transaction_id);
  }
}

// Every field a decision record can hold survives the trip through the log's JSON: the
// line reader fills the same message protobuf's own JSON parser would.
TEST(ReplayTest, EveryFieldOfARecordIsReadBackAsWritten) {
  v1::DecisionRecord charge;
  charge.set_time_ms(1'794'099'600'123);
  charge.set_transaction_id("txn-\"quoted\"-\u00e9");
  v1::AuthorizeRequest& request = *charge.mutable_request();
  request.set_transaction_id(charge.transaction_id());
  request.set_user_id("u1");
  request.set_merchant_id("m1");
  request.set_mandate_id("mdt_1");
  request.set_amount_minor(123456789012);
  request.set_currency("CNY");
  request.set_channel(v1::AUTO_DEBIT);
  request.set_merchant_category("5814");
  request.set_device_id("d1");
  request.set_funding_source(v1::CREDIT_LINE);
  request.set_event_time_ms(1'794'099'600'000);
  (*request.mutable_attributes())["ip_country"] = "CN";
  (*request.mutable_attributes())["app"] = "wallet";
  v1::AuthorizeResponse& response = *charge.mutable_response();
  response.set_decision(v1::CHALLENGE);
  v1::Reason* reason = response.add_reasons();
  reason->set_code("PER_TXN_LIMIT");
  reason->set_rule_id("limits.per_txn");
  reason->set_message("above the cap");
  v1::Reason* shadow = response.add_shadow_reasons();
  shadow->set_code("NEW_RULE");
  shadow->set_rule_id("trial.rule");
  shadow->set_message("would fire");
  response.set_notify_user(true);
  response.set_decision_id("dec-1");
  response.set_rules_version("rs-1");

  v1::DecisionRecord mandate;
  mandate.set_time_ms(5);
  v1::Mandate& granted = *mandate.mutable_mandate();
  granted.set_mandate_id("mdt_1");
  granted.set_user_id("u1");
  granted.set_merchant_id("*");
  granted.set_status(v1::PAUSED);
  granted.set_expires_at_ms(99);
  granted.set_per_txn_limit_minor(1);
  granted.set_daily_limit_minor(2);
  granted.set_monthly_limit_minor(3);
  granted.mutable_consent()->set_explicit_opt_in(true);
  granted.mutable_consent()->set_terms_version("t");
  granted.mutable_consent()->set_consented_at_ms(4);
  granted.mutable_consent()->set_channel("app");
  granted.set_created_at_ms(4);
  granted.set_last_used_at_ms(6);

  v1::DecisionRecord profile;
  profile.set_time_ms(7);
  profile.mutable_profile()->set_user_id("u1");
  profile.mutable_profile()->set_birth_date("1950-01-31");
  profile.mutable_profile()->set_risk_assessment_completed(true);
  profile.mutable_profile()->set_per_txn_limit_minor(10);
  profile.mutable_profile()->set_daily_limit_minor(20);
  profile.mutable_profile()->set_notify_every_transaction(true);

  v1::DecisionRecord outcome;
  outcome.set_time_ms(8);
  outcome.set_transaction_id("txn");
  outcome.set_outcome(v1::STRONG_AUTH_PASSED);

  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  for (const v1::DecisionRecord& record : {charge, mandate, profile, outcome}) {
    std::string line;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(record, &line, options).ok());
    absl::StatusOr<DecisionLogEntry> entry = ParseLogLine(line);
    ASSERT_TRUE(entry.ok()) << entry.status() << "\n" << line;
    v1::DecisionRecord read;
    codec::EncodeLogEntry(*entry, read);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(read, record))
        << line << "\nread back as\n"
        << read.DebugString();
  }
  // 64-bit numbers may also come as JSON numbers, and fields this version does not know are
  // skipped.
  absl::StatusOr<DecisionLogEntry> entry =
      ParseLogLine(R"({"time_ms": 42, "transaction_id": "t", "outcome": "FAILED", "later": [1]})");
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->time_ms, 42);
  EXPECT_EQ(entry->outcome, Outcome::kFailed);
}

TEST(ReplayTest, ALineThatIsNoDecisionRecordSaysWhatIsWrong) {
  EXPECT_THAT(ParseLogLine("{\"time_ms\": ").status().message(),
              HasSubstr("not a decision record"));
  EXPECT_THAT(ParseLogLine("{\"time_ms\": \"5\"}").status().message(),
              HasSubstr("neither a charge"));
  EXPECT_THAT(ParseLogLine(R"({"request": {"user_id": "u"}})").status().message(),
              HasSubstr("both its request and its response"));
  EXPECT_THAT(ParseLogLine(R"({"request": {"user_id": "u"}, "response": {"decision": 9}})")
                  .status()
                  .message(),
              HasSubstr("response"));
}

}  // namespace
}  // namespace vigil::replay
