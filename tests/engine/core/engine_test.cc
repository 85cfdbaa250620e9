// The engine's own mechanics — what it reserves, which time it uses, how it keeps idempotency —
// checked against a fake policy that decides what it is told and records what it was shown.

#include "engine/core/engine.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "engine/core/interned.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/core/time_units.h"

namespace vigil {
namespace {

// 2026-11-27 00:00 in UTC+8.
constexpr int64_t kLocalMidnight = 1'795'708'800'000;

// Decides `decision` for every call and keeps a copy of the facts it last saw, written under a
// lock so that tests may decide on several threads; they read it with no call in flight.
class FakePolicy final : public Policy {
 public:
  // The version is interned, as Policy::version() must be: idempotency records keep pointing
  // at it after the policy is replaced.
  explicit FakePolicy(absl::string_view version = "fake-1")
      : version_(InternString(version)),
        calendar_(kEightHours),
        layout_({{Subject::kUser, WindowMetric::kApprovals, WindowShape{kHour, 12}},
                 {Subject::kUser, WindowMetric::kAttempts, WindowShape{kHour, 12}}},
                /*id=*/1) {
    reason_ = InternReason(Reason{"FAKE", "fake.rule", "the fake said so"});
  }

  absl::string_view version() const override { return *version_; }
  const LocalCalendar& calendar() const override { return calendar_; }
  const WindowLayout& layout() const override { return layout_; }
  int64_t dormant_after_ms() const override { return 90 * 24 * kHour; }
  UserSegment Segment(std::optional<int> age) const override {
    return UserSegment{age.value_or(0) >= 60, 100000, 200000};
  }
  absl::Status CheckGrant(const GrantMandateRequest&, const UserSegment&,
                          const UserProfile*) const override {
    return absl::OkStatus();
  }
  absl::Status CheckProfile(const UserProfile&, const UserSegment&) const override {
    return absl::OkStatus();
  }
  Verdict Evaluate(const Facts& facts) const override {
    {
      absl::MutexLock lock(&seen_mu_);
      seen_now_ms = facts.now_ms;
      seen_mandate = facts.mandate;
      seen_day_used = facts.user_day_used_minor;
      seen_windows.assign(facts.windows.begin(), facts.windows.end());
    }
    Verdict verdict;
    verdict.decision = decide.load();
    if (verdict.decision != Decision::kApprove) {
      verdict.hits.push_back(RuleHit{verdict.decision, reason_});
    }
    return verdict;
  }

  std::atomic<Decision> decide{Decision::kApprove};
  mutable int64_t seen_now_ms = 0;
  mutable MandateFacts seen_mandate;
  mutable int64_t seen_day_used = 0;
  mutable std::vector<WindowReading> seen_windows;

 private:
  mutable absl::Mutex seen_mu_;
  const std::string* version_;
  LocalCalendar calendar_;
  WindowLayout layout_;
  const Reason* reason_ = nullptr;
};

class EngineTest : public ::testing::Test {
 protected:
  explicit EngineTest(bool trust_client_time = false)
      : policy_(std::make_shared<FakePolicy>()),
        engine_owner_(Engine::Create(policy_, &clock_, EngineOptions{trust_client_time, 7})),
        engine_(*engine_owner_) {}

  void SetUp() override {
    GrantMandateRequest grant;
    grant.user_id = "u";
    grant.merchant_id = "shop";
    grant.consent.explicit_opt_in = true;
    grant.consent.terms_version = "t";
    grant.consent.consented_at_ms = clock_.NowMs();
    absl::StatusOr<Mandate> mandate = engine_.GrantMandate(grant);
    ASSERT_TRUE(mandate.ok()) << mandate.status();
    mandate_id_ = mandate->mandate_id;
  }

  static AuthorizeRequest Charge(const std::string& txn, int64_t amount_minor,
                                 const std::string& user = "u") {
    AuthorizeRequest request;
    request.transaction_id = txn;
    request.user_id = user;
    request.merchant_id = "shop";
    request.amount_minor = amount_minor;
    request.currency = "CNY";
    return request;
  }

  FakeClock clock_{kLocalMidnight + 10 * kHour};
  std::shared_ptr<FakePolicy> policy_;
  std::unique_ptr<Engine> engine_owner_;
  Engine& engine_;
  std::string mandate_id_;
};

TEST_F(EngineTest, ABirthDateInTheFutureIsRefusedAndChangesNothing) {
  // Tomorrow in the policy's local calendar: an age below zero would never be elderly.
  const absl::CivilDay today = policy_->calendar().DayOf(clock_.NowMs());
  UserProfile profile;
  profile.user_id = "newborn";
  profile.birth_date = absl::FormatCivilTime(today + 1);
  const absl::StatusOr<UserProfile> put = engine_.PutUserProfile(profile);
  EXPECT_EQ(put.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(put.status().message(), ::testing::HasSubstr("birth_date: "));
  EXPECT_THAT(put.status().message(), ::testing::HasSubstr("is in the future"));
  EXPECT_EQ(engine_.GetUserProfile("newborn").status().code(), absl::StatusCode::kNotFound);
  profile.birth_date = absl::FormatCivilTime(today);
  EXPECT_TRUE(engine_.PutUserProfile(profile).ok());
}

TEST_F(EngineTest, AConsentWithoutItsTimeOrDatedAfterTheGrantIsNoEvidence) {
  GrantMandateRequest grant;
  grant.user_id = "v";
  grant.merchant_id = "shop";
  grant.consent.explicit_opt_in = true;
  grant.consent.terms_version = "t";
  grant.consent.consented_at_ms = 0;
  absl::StatusOr<Mandate> granted = engine_.GrantMandate(grant);
  EXPECT_EQ(granted.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(granted.status().message(), ::testing::HasSubstr("consent.consented_at_ms"));
  // Later than vigild's clock by more than the minute of skew allowed.
  grant.consent.consented_at_ms = clock_.NowMs() + 61 * 1000;
  granted = engine_.GrantMandate(grant);
  EXPECT_EQ(granted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(granted.status().message(), ::testing::HasSubstr("is in the future"));
  absl::StatusOr<std::vector<Mandate>> mandates = engine_.ListMandates("v", true);
  ASSERT_TRUE(mandates.ok());
  EXPECT_TRUE(mandates->empty()) << "a refused grant changed nothing";
  // Within the skew, and in the past, it is evidence.
  grant.consent.consented_at_ms = clock_.NowMs() + 30 * 1000;
  EXPECT_TRUE(engine_.GrantMandate(grant).ok());
}

TEST_F(EngineTest, ApprovalReservesInEveryWindowAndCalendarPeriod) {
  ASSERT_TRUE(engine_.Authorize(Charge("a", 100)).ok());
  ASSERT_TRUE(engine_.Authorize(Charge("b", 250)).ok());
  ASSERT_TRUE(engine_.Authorize(Charge("c", 1)).ok());
  // The third call saw the first two.
  ASSERT_EQ(policy_->seen_windows.size(), 2u);
  EXPECT_EQ(policy_->seen_windows[0].count, 2);
  EXPECT_EQ(policy_->seen_windows[0].sum_minor, 350);
  EXPECT_EQ(policy_->seen_windows[1].count, 2);
  EXPECT_EQ(policy_->seen_day_used, 350);
  EXPECT_EQ(policy_->seen_mandate.day_used_minor, 350);
  EXPECT_EQ(policy_->seen_mandate.month_used_minor, 350);
  EXPECT_EQ(policy_->seen_mandate.match, MandateMatch::kFound);
}

TEST_F(EngineTest, OtherDecisionsCountOnlyAsAttempts) {
  policy_->decide = Decision::kChallenge;
  absl::StatusOr<AuthorizeResponse> challenged = engine_.Authorize(Charge("a", 100));
  ASSERT_TRUE(challenged.ok());
  EXPECT_EQ(challenged->decision, Decision::kChallenge);
  ASSERT_EQ(challenged->reasons.size(), 1u);
  EXPECT_EQ(challenged->reasons[0]->code, "FAKE");
  ASSERT_TRUE(engine_.Authorize(Charge("b", 100)).ok());
  EXPECT_EQ(policy_->seen_windows[0].count, 0);
  EXPECT_EQ(policy_->seen_windows[1].count, 1);
  EXPECT_EQ(policy_->seen_day_used, 0);
}

TEST_F(EngineTest, NoRuleCanApproveWithoutAnActiveMandate) {
  absl::StatusOr<AuthorizeResponse> stranger = engine_.Authorize(Charge("a", 100, "stranger"));
  ASSERT_TRUE(stranger.ok());
  EXPECT_EQ(stranger->decision, Decision::kChallenge);
  ASSERT_EQ(stranger->reasons.size(), 1u);
  EXPECT_EQ(stranger->reasons[0]->code, "NO_ACTIVE_MANDATE");

  ASSERT_TRUE(engine_.PauseMandate(mandate_id_, "u").ok());
  absl::StatusOr<AuthorizeResponse> paused = engine_.Authorize(Charge("b", 100));
  ASSERT_TRUE(paused.ok());
  EXPECT_EQ(paused->decision, Decision::kChallenge);
  ASSERT_TRUE(engine_.Authorize(Charge("c", 100)).ok());
  EXPECT_EQ(policy_->seen_day_used, 0) << "nothing was reserved";
}

TEST_F(EngineTest, DailyUsageResetsAtLocalMidnight) {
  clock_.SetMs(kLocalMidnight + 24 * kHour - kMinute);  // 23:59 local
  ASSERT_TRUE(engine_.Authorize(Charge("late", 500)).ok());
  ASSERT_TRUE(engine_.Authorize(Charge("later", 1)).ok());
  EXPECT_EQ(policy_->seen_day_used, 500);
  clock_.AdvanceMs(2 * kMinute);  // 00:01 the next day
  ASSERT_TRUE(engine_.Authorize(Charge("next-day", 1)).ok());
  EXPECT_EQ(policy_->seen_day_used, 0);
  EXPECT_EQ(policy_->seen_windows[0].count, 2) << "velocity windows do not reset at midnight";
}

TEST_F(EngineTest, ClientTimeIsIgnoredUnlessTrusted) {
  AuthorizeRequest request = Charge("a", 100);
  request.event_time_ms = clock_.NowMs() + 5 * kHour;
  ASSERT_TRUE(engine_.Authorize(request).ok());
  EXPECT_EQ(policy_->seen_now_ms, clock_.NowMs());
}

class TrustingEngineTest : public EngineTest {
 protected:
  TrustingEngineTest() : EngineTest(/*trust_client_time=*/true) {}
};

TEST_F(TrustingEngineTest, ClientTimeIsUsedWhenTrusted) {
  AuthorizeRequest request = Charge("a", 100);
  request.event_time_ms = clock_.NowMs() + 5 * kHour;
  ASSERT_TRUE(engine_.Authorize(request).ok());
  EXPECT_EQ(policy_->seen_now_ms, request.event_time_ms);
}

TEST_F(TrustingEngineTest, RetentionCountsFromWhenTheEngineSawTheChargeNotFromItsDate) {
  constexpr int64_t kDay = 24 * kHour;
  constexpr int64_t kRetention = 7 * kDay;
  AuthorizeRequest replayed = Charge("replayed", 100);
  replayed.event_time_ms = clock_.NowMs() - 30 * kDay;  // dated a month ago, seen now
  ASSERT_TRUE(engine_.Authorize(replayed).ok());

  EXPECT_EQ(*engine_.ExpireTransactions(clock_.NowMs() - kRetention), 0u)
      << "a retry minutes later must still get the first answer";
  EXPECT_TRUE(engine_.ReportOutcome("replayed", Outcome::kCompleted).ok());
  clock_.AdvanceMs(kRetention + 1);
  EXPECT_EQ(*engine_.ExpireTransactions(clock_.NowMs() - kRetention), 1u);
}

TEST_F(TrustingEngineTest, AnOutcomeHappensAtItsReportedTime) {
  constexpr int64_t kDay = 24 * kHour;
  policy_->decide = Decision::kChallenge;
  AuthorizeRequest charge = Charge("late", 100);
  charge.event_time_ms = clock_.NowMs() + 91 * kDay;
  ASSERT_TRUE(engine_.Authorize(charge).ok());
  const int64_t passed_at = charge.event_time_ms + 60'000;
  ASSERT_TRUE(engine_.ReportOutcome("late", Outcome::kStrongAuthPassed, passed_at).ok());
  absl::StatusOr<Mandate> mandate = engine_.GetMandate(mandate_id_);
  ASSERT_TRUE(mandate.ok());
  EXPECT_EQ(mandate->last_used_at_ms, passed_at) << "not the engine's clock";
}

TEST_F(TrustingEngineTest, AnOutcomeWithoutItsTimeHappensAtTheTransactionsTime) {
  policy_->decide = Decision::kChallenge;
  AuthorizeRequest charge = Charge("late", 100);
  charge.event_time_ms = clock_.NowMs() + 30 * 24 * kHour;
  ASSERT_TRUE(engine_.Authorize(charge).ok());
  ASSERT_TRUE(engine_.ReportOutcome("late", Outcome::kStrongAuthPassed).ok());
  EXPECT_EQ(engine_.GetMandate(mandate_id_)->last_used_at_ms, charge.event_time_ms);
}

TEST_F(EngineTest, AnOutcomesTimeIsIgnoredUnlessTrusted) {
  policy_->decide = Decision::kChallenge;
  ASSERT_TRUE(engine_.Authorize(Charge("a", 100)).ok());
  ASSERT_TRUE(
      engine_.ReportOutcome("a", Outcome::kStrongAuthPassed, clock_.NowMs() + 5 * kHour).ok());
  EXPECT_EQ(engine_.GetMandate(mandate_id_)->last_used_at_ms, clock_.NowMs());
}

TEST_F(EngineTest, FailedOutcomeReleasesEverythingTheApprovalReserved) {
  ASSERT_TRUE(engine_.Authorize(Charge("a", 100)).ok());
  ASSERT_TRUE(engine_.Authorize(Charge("b", 40)).ok());
  ASSERT_TRUE(engine_.ReportOutcome("a", Outcome::kFailed).ok());
  ASSERT_TRUE(engine_.Authorize(Charge("c", 1)).ok());
  EXPECT_EQ(policy_->seen_windows[0].count, 1);
  EXPECT_EQ(policy_->seen_windows[0].sum_minor, 40);
  EXPECT_EQ(policy_->seen_windows[1].count, 2) << "the attempt itself still happened";
  EXPECT_EQ(policy_->seen_day_used, 40);
  EXPECT_EQ(policy_->seen_mandate.day_used_minor, 40);
  EXPECT_EQ(policy_->seen_mandate.month_used_minor, 40);
}

TEST_F(EngineTest, StrongAuthPassedMarksTheMandateUsed) {
  policy_->decide = Decision::kChallenge;
  ASSERT_TRUE(engine_.Authorize(Charge("a", 100)).ok());
  clock_.AdvanceMs(kHour);
  ASSERT_TRUE(engine_.ReportOutcome("a", Outcome::kStrongAuthPassed).ok());
  absl::StatusOr<Mandate> mandate = engine_.GetMandate(mandate_id_);
  ASSERT_TRUE(mandate.ok());
  EXPECT_EQ(mandate->last_used_at_ms, clock_.NowMs());
}

TEST_F(EngineTest, DecisionsCarryUniqueIdsAndThePolicyVersion) {
  absl::flat_hash_set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<AuthorizeResponse> response = engine_.Authorize(Charge(absl::StrCat(i), 1));
    ASSERT_TRUE(response.ok());
    EXPECT_EQ(response->rules_version, "fake-1");
    ids.insert(response->decision_id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

TEST_F(EngineTest, DecisionIdsAreUniqueAcrossThreads) {
  // Each thread takes more decisions than a block of ids holds, so blocks run out and are
  // taken again while the other threads take theirs.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 1500;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<AuthorizeResponse> response =
            engine_.Authorize(Charge(absl::StrCat(t, "-", i), 1, absl::StrCat("user-", t)));
        ASSERT_TRUE(response.ok()) << response.status();
        ids[t].push_back(response->decision_id);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  absl::flat_hash_set<std::string> unique;
  for (const std::vector<std::string>& of_thread : ids)
    unique.insert(of_thread.begin(), of_thread.end());
  EXPECT_EQ(unique.size(), size_t{kThreads * kPerThread});
}

TEST_F(EngineTest, ANewPolicyDecidesTheNextCallOnTheSameThread) {
  ASSERT_EQ(engine_.Authorize(Charge("before", 1))->rules_version, "fake-1");
  auto replacement = std::make_shared<FakePolicy>("fake-2");
  replacement->decide = Decision::kChallenge;
  engine_.SetPolicy(replacement);
  absl::StatusOr<AuthorizeResponse> after = engine_.Authorize(Charge("after", 1));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->rules_version, "fake-2");
  EXPECT_EQ(after->decision, Decision::kChallenge);
}

TEST_F(EngineTest, TwoEnginesOnOneThreadDecideEachWithItsOwnPolicy) {
  const std::unique_ptr<Engine> other =
      Engine::Create(std::make_shared<FakePolicy>("other-1"), &clock_, EngineOptions{});
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<AuthorizeResponse> mine = engine_.Authorize(Charge(absl::StrCat("a", i), 1));
    absl::StatusOr<AuthorizeResponse> theirs = other->Authorize(Charge(absl::StrCat("b", i), 1));
    ASSERT_TRUE(mine.ok() && theirs.ok());
    EXPECT_EQ(mine->rules_version, "fake-1");
    EXPECT_EQ(theirs->rules_version, "other-1");
  }
}

TEST_F(EngineTest, ARetryAfterTheRulesAreReplacedGetsTheFirstAnswerWhole) {
  policy_->decide = Decision::kChallenge;
  AuthorizeRequest request = Charge("retried", 100);
  request.device_id = "device-7";
  absl::StatusOr<AuthorizeResponse> first = engine_.Authorize(request);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->reasons.size(), 1u);

  // The first policy is gone (the engine and this test held the only references).
  engine_.SetPolicy(std::make_shared<FakePolicy>());
  policy_.reset();
  absl::StatusOr<AuthorizeResponse> again = engine_.Authorize(request);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, *first);
  EXPECT_EQ(again->reasons[0]->message, "the fake said so");

  request.amount_minor = 101;
  EXPECT_EQ(engine_.Authorize(request).status().code(), absl::StatusCode::kAlreadyExists);
}

TEST(InternedTest, EqualValuesShareOneCopyAndDifferentOnesDoNot) {
  const Reason* a = InternReason(Reason{"C", "rule.a", "message"});
  EXPECT_EQ(InternReason(Reason{"C", "rule.a", "message"}), a);
  EXPECT_NE(InternReason(Reason{"C", "rule.b", "message"}), a);
  // Field boundaries count: "C" + "rule.a" is not "Cr" + "ule.a".
  EXPECT_NE(InternReason(Reason{"Cr", "ule.a", "message"}), a);
  EXPECT_EQ(a->rule_id, "rule.a");
  EXPECT_EQ(InternString("rs-1"), InternString(std::string("rs-") + "1"));
  EXPECT_NE(InternString("rs-1"), InternString("rs-2"));
}

TEST_F(EngineTest, ExpiryInPartsForgetsEveryOldRecordOnceAndKeepsNewOnes) {
  constexpr size_t kOld = 200;
  for (size_t i = 0; i < kOld; ++i) {
    ASSERT_TRUE(engine_.Authorize(Charge(absl::StrCat("old-", i), 1)).ok());
  }
  clock_.AdvanceMs(kHour);
  ASSERT_TRUE(engine_.Authorize(Charge("new", 1)).ok());

  constexpr size_t kParts = 4;
  size_t expired = 0;
  for (size_t part = 0; part < kParts; ++part) {
    absl::StatusOr<size_t> in_part = engine_.ExpireTransactions(clock_.NowMs(), part, kParts);
    ASSERT_TRUE(in_part.ok()) << in_part.status();
    // Each part holds about a quarter of the records: none walks them all, or none.
    EXPECT_GT(*in_part, 0u) << "part " << part;
    EXPECT_LT(*in_part, kOld / 2) << "part " << part;
    expired += *in_part;
  }
  EXPECT_EQ(expired, kOld);
  EXPECT_EQ(*engine_.ExpireTransactions(clock_.NowMs()), 0u) << "nothing old is left";
  EXPECT_EQ(engine_.ReportOutcome("old-0", Outcome::kCompleted).code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(engine_.ReportOutcome("new", Outcome::kCompleted).ok());
  EXPECT_EQ(engine_.ExpireTransactions(clock_.NowMs(), kParts, kParts).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, ATransactionIdRacedByTwoUsersIsDecidedOnce) {
  constexpr int kThreads = 8;
  std::atomic<int> decided{0};
  std::atomic<int> conflicts{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      absl::StatusOr<AuthorizeResponse> response =
          engine_.Authorize(Charge("shared", 100, absl::StrCat("user-", t % 2)));
      if (response.ok()) decided.fetch_add(1);
      if (response.status().code() == absl::StatusCode::kAlreadyExists) conflicts.fetch_add(1);
    });
  }
  for (std::thread& thread : threads) thread.join();
  // Whichever user claimed the id first gets the same answer every time; the other a conflict.
  EXPECT_EQ(decided.load() + conflicts.load(), kThreads);
  EXPECT_EQ(decided.load(), kThreads / 2);
}

}  // namespace
}  // namespace vigil
