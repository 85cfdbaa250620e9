// Engines on several nodes sharing their users through one SharedState (a fake with the store's
// semantics), deciding with the shipped rules: limits hold across nodes, a change on one node
// holds on the others, retries get their first answer wherever they land, time never runs back
// for a user, and a store that fails approves nothing.

#include "engine/core/shared_engine.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/rules/rule_set.h"
#include "fake_shared_state.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/core/time_units.h"

namespace vigil {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

// 2026-11-27 10:00 in UTC+8, the shipped rules' calendar.
constexpr int64_t kMorning = 1'795'708'800'000 + 10 * kHour;

std::shared_ptr<const Policy> Shipped() {
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(VIGIL_RULES_DIR);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

std::vector<std::string> Codes(const AuthorizeResponse& response) {
  std::vector<std::string> codes;
  for (const Reason* reason : response.reasons) codes.push_back(reason->code);
  return codes;
}

class SharedEngineTest : public ::testing::Test {
 protected:
  // A node: its own clock and engine, on the one shared state.
  struct Node {
    std::unique_ptr<FakeClock> clock;
    std::unique_ptr<SharedEngine> engine;
  };

  Node MakeNode(uint64_t seed, int64_t clock_offset_ms = 0) {
    Node node;
    node.clock = std::make_unique<FakeClock>(kMorning + clock_offset_ms);
    EngineOptions options;
    options.id_seed = seed;
    node.engine = SharedEngine::Create(policy_, node.clock.get(), options, &state_);
    return node;
  }

  static GrantMandateRequest Grant(const std::string& user, const std::string& merchant,
                                   int64_t now_ms) {
    GrantMandateRequest grant;
    grant.user_id = user;
    grant.merchant_id = merchant;
    grant.consent.explicit_opt_in = true;
    grant.consent.terms_version = "2026-01";
    grant.consent.consented_at_ms = now_ms;
    return grant;
  }
  static AuthorizeRequest Charge(const std::string& txn, const std::string& user,
                                 int64_t amount_minor) {
    AuthorizeRequest request;
    request.transaction_id = txn;
    request.user_id = user;
    request.merchant_id = "shop";
    request.amount_minor = amount_minor;
    request.currency = "CNY";
    return request;
  }

  FakeSharedState state_;
  std::shared_ptr<const Policy> policy_ = Shipped();
};

TEST_F(SharedEngineTest, TwoNodesChargingOneUserAtOnceNeverExceedTheDailyCap) {
  Node a = MakeNode(1);
  Node b = MakeNode(2);
  ASSERT_TRUE(a.engine->GrantMandate(Grant("hot", "*", kMorning)).ok());
  // A millisecond to the store, as over a network: both nodes have commits on the way at once.
  state_.SetCommitDelay(absl::Milliseconds(1));
  // 300 CNY charges: the 2,000 CNY daily cap admits six, whichever node decides them. Four
  // threads a node, each with its own transactions.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 5;
  std::atomic<int> approved{0}, failed{0};
  std::vector<std::thread> threads;
  for (Node* node : {&a, &b}) {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, node, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const std::string txn = absl::StrCat(node == &a ? "a-" : "b-", t, "-", i);
          absl::StatusOr<AuthorizeResponse> response =
              node->engine->Authorize(Charge(txn, "hot", 30000));
          if (!response.ok()) {
            failed.fetch_add(1);
          } else if (response->decision == Decision::kApprove) {
            approved.fetch_add(1);
          }
        }
      });
    }
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(approved.load(), 6) << "as many as fit in the cap, across both nodes";
  EXPECT_GT(a.engine->conflicts() + b.engine->conflicts(), 0u)
      << "the nodes did race for the user (else this test shows nothing)";
}

TEST_F(SharedEngineTest, EveryApprovalOfAToldUserHasOneNoticeWhateverTheNodesRaced) {
  Node a = MakeNode(1);
  Node b = MakeNode(2);
  UserProfile profile;
  profile.user_id = "told";
  profile.notify_every_transaction = true;
  ASSERT_TRUE(a.engine->PutUserProfile(profile).ok());
  ASSERT_TRUE(a.engine->GrantMandate(Grant("told", "*", kMorning)).ok());
  state_.SetCommitDelay(absl::Milliseconds(1));
  // Decisions refused by the other node's commit are made again: only the one that is stored
  // leaves its notice.
  std::mutex mu;
  std::set<std::string> approved;
  std::vector<std::thread> threads;
  for (Node* node : {&a, &b}) {
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, node, t] {
        for (int i = 0; i < 5; ++i) {
          const std::string txn = absl::StrCat(node == &a ? "a-" : "b-", t, "-", i);
          absl::StatusOr<AuthorizeResponse> response =
              node->engine->Authorize(Charge(txn, "told", 30000));
          ASSERT_TRUE(response.ok()) << response.status();
          if (response->decision != Decision::kApprove) continue;
          std::lock_guard<std::mutex> lock(mu);
          approved.insert(txn);
        }
      });
    }
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_GT(a.engine->conflicts() + b.engine->conflicts(), 0u) << "the nodes did race";
  std::multiset<std::string> told;
  ASSERT_TRUE(state_.outbox()
                  .ReadNotices(0,
                               [&](const StoredNotice& stored) {
                                 if (stored.notice.kind == NoticeKind::kChargeApproved) {
                                   told.insert(stored.notice.transaction_id);
                                 }
                                 return true;
                               })
                  .ok());
  EXPECT_EQ(told, std::multiset<std::string>(approved.begin(), approved.end()));
  EXPECT_EQ(approved.size(), 6u);
}

TEST_F(SharedEngineTest, ChargesOfOneUserThatArriveTogetherShareACommit) {
  Node a = MakeNode(1);
  ASSERT_TRUE(a.engine->GrantMandate(Grant("hot", "*", kMorning)).ok());
  state_.SetCommitDelay(absl::Milliseconds(2));
  const int commits_before = state_.commits();
  // Eight threads charging one user: while one commit is on its way, the others queue.
  constexpr int kThreads = 8;
  constexpr int kPerThread = 5;
  std::atomic<int> failed{0};
  std::atomic<int64_t> approved_minor{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const int64_t amount = 100 * (1 + t + kThreads * i);  // every charge its own amount
        absl::StatusOr<AuthorizeResponse> response =
            a.engine->Authorize(Charge(absl::StrCat("t-", t, "-", i), "hot", amount));
        if (!response.ok()) {
          failed.fetch_add(1);
        } else if (response->decision == Decision::kApprove) {
          approved_minor.fetch_add(amount);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LT(state_.commits() - commits_before, kThreads * kPerThread)
      << "charges that waited for the user were committed together";
  // What is stored counts exactly the charges answered APPROVE.
  absl::StatusOr<SharedState::UserRecord> stored = state_.ReadUser("hot");
  ASSERT_TRUE(stored.ok() && stored->user.has_value());
  EXPECT_EQ(stored->user->day.amount_minor, approved_minor.load());
  EXPECT_GT(approved_minor.load(), 0);
}

TEST_F(SharedEngineTest, ARevocationOnOneNodeHoldsOnTheOther) {
  Node a = MakeNode(1);
  Node b = MakeNode(2);
  absl::StatusOr<Mandate> mandate = a.engine->GrantMandate(Grant("u", "shop", kMorning));
  ASSERT_TRUE(mandate.ok()) << mandate.status();
  // B has the user, with the mandate active.
  absl::StatusOr<AuthorizeResponse> before = b.engine->Authorize(Charge("t1", "u", 100));
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->decision, Decision::kApprove);

  ASSERT_TRUE(a.engine->RevokeMandate(mandate->mandate_id, "u", "lost phone").ok());
  absl::StatusOr<AuthorizeResponse> after = b.engine->Authorize(Charge("t2", "u", 100));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->decision, Decision::kChallenge);
  EXPECT_THAT(Codes(*after), ElementsAre("MANDATE_REVOKED"));
  // Reads on B see it too.
  absl::StatusOr<Mandate> seen = b.engine->GetMandate(mandate->mandate_id);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->status, MandateStatus::kRevoked);
}

TEST_F(SharedEngineTest, ARetryOnTheOtherNodeGetsTheFirstAnswerAndCountsOnce) {
  Node a = MakeNode(1);
  Node b = MakeNode(2);
  ASSERT_TRUE(a.engine->GrantMandate(Grant("u", "shop", kMorning)).ok());
  absl::StatusOr<AuthorizeResponse> first = a.engine->Authorize(Charge("t", "u", 100000));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->decision, Decision::kApprove);
  absl::StatusOr<AuthorizeResponse> retry = b.engine->Authorize(Charge("t", "u", 100000));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(*retry, *first);
  // Counted once: another 1,000 CNY still fits the 2,000 CNY cap.
  absl::StatusOr<AuthorizeResponse> second = b.engine->Authorize(Charge("t2", "u", 100000));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->decision, Decision::kApprove);
  EXPECT_THAT(Codes(*second), IsEmpty());
  // The id again for another charge, or for another user: ALREADY_EXISTS, on either node.
  EXPECT_EQ(b.engine->Authorize(Charge("t", "u", 99)).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(a.engine->Authorize(Charge("t", "someone-else", 100000)).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(SharedEngineTest, AnIdAnotherUserHoldsIsRefusedAndTheChargeStoredUnderItReleased) {
  Node a = MakeNode(1);
  Node b = MakeNode(2);
  ASSERT_TRUE(a.engine->GrantMandate(Grant("u", "shop", kMorning)).ok());
  ASSERT_TRUE(b.engine->GrantMandate(Grant("v", "shop", kMorning)).ok());
  ASSERT_EQ(a.engine->Authorize(Charge("t", "u", 100000))->decision, Decision::kApprove);
  // B has never seen "t": it decides and stores v's charge before it waits for the answer to
  // its claim of the id, and only then learns that the id is u's.
  EXPECT_EQ(b.engine->Authorize(Charge("t", "v", 100000)).status().code(),
            absl::StatusCode::kAlreadyExists);
  absl::StatusOr<std::optional<TransactionSnapshot>> stored = state_.ReadTransaction("v", "t");
  ASSERT_TRUE(stored.ok() && stored->has_value()) << "the refused charge was stored...";
  EXPECT_TRUE((*stored)->released) << "...and released";
  // Nothing of it counts: v's whole 2,000 CNY daily cap is left.
  for (const char* txn : {"v1", "v2"}) {
    absl::StatusOr<AuthorizeResponse> charge = b.engine->Authorize(Charge(txn, "v", 100000));
    ASSERT_TRUE(charge.ok()) << charge.status();
    EXPECT_EQ(charge->decision, Decision::kApprove) << txn;
    EXPECT_THAT(Codes(*charge), IsEmpty()) << txn;
  }
  // And an outcome for "t" on B is u's: it releases u's 1,000 CNY.
  ASSERT_TRUE(b.engine->ReportOutcome("t", Outcome::kFailed).ok());
  EXPECT_TRUE((*state_.ReadTransaction("u", "t"))->released);
}

TEST_F(SharedEngineTest, AnOutcomeReportedToTheOtherNodeReleasesTheAmountOnce) {
  Node a = MakeNode(1);
  Node b = MakeNode(2);
  ASSERT_TRUE(a.engine->GrantMandate(Grant("u", "shop", kMorning)).ok());
  ASSERT_EQ(a.engine->Authorize(Charge("t1", "u", 100000))->decision, Decision::kApprove);
  ASSERT_EQ(a.engine->Authorize(Charge("t2", "u", 100000))->decision, Decision::kApprove);
  ASSERT_TRUE(b.engine->ReportOutcome("t1", Outcome::kFailed).ok());
  ASSERT_TRUE(a.engine->ReportOutcome("t1", Outcome::kFailed).ok());  // twice, released once
  absl::StatusOr<AuthorizeResponse> third = a.engine->Authorize(Charge("t3", "u", 100000));
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->decision, Decision::kApprove) << "1,000 CNY came back";
  absl::StatusOr<AuthorizeResponse> fourth = b.engine->Authorize(Charge("t4", "u", 100000));
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(fourth->decision, Decision::kChallenge);
  EXPECT_THAT(Codes(*fourth), ElementsAre("DAILY_LIMIT")) << "but only once";
  EXPECT_EQ(b.engine->ReportOutcome("never", Outcome::kCompleted).code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SharedEngineTest, DecisionTimeDoesNotRunBackOnANodeWhoseClockIsBehind) {
  // A is an hour ahead: for it, it is already past local midnight, the next day.
  constexpr int64_t kBeforeMidnight = kMorning + 13 * kHour + 30 * 60 * 1000;  // 23:30
  Node a = MakeNode(1, 13 * kHour + 30 * 60 * 1000 + kHour);                   // 00:30
  Node b = MakeNode(2, 13 * kHour + 30 * 60 * 1000);                           // 23:30
  ASSERT_TRUE(b.engine->GrantMandate(Grant("u", "shop", kBeforeMidnight)).ok());
  ASSERT_EQ(a.engine->Authorize(Charge("t1", "u", 100000))->decision, Decision::kApprove);
  ASSERT_EQ(a.engine->Authorize(Charge("t2", "u", 90000))->decision, Decision::kApprove);
  // B decides at A's time, the new day with 1,900 CNY used, not the day before with nothing.
  absl::StatusOr<AuthorizeResponse> late = b.engine->Authorize(Charge("t3", "u", 20000));
  ASSERT_TRUE(late.ok()) << late.status();
  EXPECT_EQ(late->decision, Decision::kChallenge);
  EXPECT_THAT(Codes(*late), ElementsAre("DAILY_LIMIT"));
}

TEST_F(SharedEngineTest, AStoreThatFailsApprovesNothingAndALostReplyIsFoundAgain) {
  Node a = MakeNode(1);
  ASSERT_TRUE(a.engine->GrantMandate(Grant("u", "shop", kMorning)).ok());
  state_.FailCommits(1);
  EXPECT_EQ(a.engine->Authorize(Charge("t1", "u", 100000)).status().code(),
            absl::StatusCode::kUnavailable);
  // The store took this one, but its reply was lost: UNAVAILABLE, and the retry finds it.
  state_.LoseReplies(1);
  EXPECT_EQ(a.engine->Authorize(Charge("t2", "u", 100000)).status().code(),
            absl::StatusCode::kUnavailable);
  absl::StatusOr<AuthorizeResponse> retried = a.engine->Authorize(Charge("t2", "u", 100000));
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_EQ(retried->decision, Decision::kApprove);
  // t1 was never stored: its retry decides afresh, and the cap counts t2 once.
  absl::StatusOr<AuthorizeResponse> first_again = a.engine->Authorize(Charge("t1", "u", 100000));
  ASSERT_TRUE(first_again.ok());
  EXPECT_EQ(first_again->decision, Decision::kApprove);
  absl::StatusOr<AuthorizeResponse> over = a.engine->Authorize(Charge("t3", "u", 100));
  ASSERT_TRUE(over.ok());
  EXPECT_THAT(Codes(*over), ElementsAre("DAILY_LIMIT"));
}

TEST_F(SharedEngineTest, AGrantOnOneNodeIsListedAndReplayedOnTheOther) {
  Node a = MakeNode(1);
  Node b = MakeNode(2);
  GrantMandateRequest grant = Grant("u", "shop", kMorning);
  grant.request_id = "grant-1";
  absl::StatusOr<Mandate> granted = a.engine->GrantMandate(grant);
  ASSERT_TRUE(granted.ok()) << granted.status();
  absl::StatusOr<std::vector<Mandate>> listed = b.engine->ListMandates("u", false);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().mandate_id, granted->mandate_id);
  // The same request on B: the same mandate, not a second one.
  absl::StatusOr<Mandate> replayed = b.engine->GrantMandate(grant);
  ASSERT_TRUE(replayed.ok()) << replayed.status();
  EXPECT_EQ(replayed->mandate_id, granted->mandate_id);
  EXPECT_EQ(a.engine->ListMandates("u", false)->size(), 1u);
}

}  // namespace
}  // namespace vigil
