// SharedEngines on RedisSharedState over a real Redis Cluster on loopback: two nodes (each with
// its own cluster client, as two vigild processes have) charging the same users at once stay
// within the caps, a retry on the other node gets the first answer, a refused commit comes back
// with what is stored, and a store that cannot be reached approves nothing.

#include "engine/store/redis_shared_state.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/core/shared_engine.h"
#include "engine/redis/key_slot.h"
#include "engine/rules/rule_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "local_cluster.h"

namespace vigil::store {
namespace {

using ::testing::ElementsAre;

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kMorning = 1'795'708'800'000 + 10 * kHour;  // 2026-11-27 10:00 in UTC+8

std::vector<std::string> Codes(const AuthorizeResponse& response) {
  std::vector<std::string> codes;
  for (const Reason* reason : response.reasons) codes.push_back(reason->code);
  return codes;
}

// One vigild's view: a cluster client, the shared state on it, an engine.
struct Node {
  std::unique_ptr<redis::ClusterClient> cluster;
  std::unique_ptr<RedisSharedState> state;
  std::unique_ptr<SharedEngine> engine;
};

class RedisSharedStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(redis::TheCluster(), nullptr) << "the local cluster did not start";
    absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(VIGIL_RULES_DIR);
    ASSERT_TRUE(policy.ok()) << policy.status();
    policy_ = *std::move(policy);
    // Each test's users are its own: the cluster is shared by the whole binary.
    prefix_ = absl::StrCat(::testing::UnitTest::GetInstance()->current_test_info()->name(), "-");
  }

  Node MakeNode(uint64_t seed) {
    Node node;
    redis::ClusterOptions options;
    options.seeds = redis::TheCluster()->seeds();
    absl::StatusOr<std::unique_ptr<redis::ClusterClient>> cluster =
        redis::ClusterClient::Connect(options);
    EXPECT_TRUE(cluster.ok()) << cluster.status();
    node.cluster = *std::move(cluster);
    absl::StatusOr<std::unique_ptr<RedisSharedState>> state =
        RedisSharedState::Create(node.cluster.get(), RedisSharedStateOptions{});
    EXPECT_TRUE(state.ok()) << state.status();
    node.state = *std::move(state);
    EngineOptions engine_options;
    engine_options.id_seed = seed;
    node.engine = SharedEngine::Create(policy_, &clock_, engine_options, node.state.get());
    return node;
  }

  std::string User(absl::string_view name) const { return absl::StrCat(prefix_, name); }

  GrantMandateRequest Grant(const std::string& user) const {
    GrantMandateRequest grant;
    grant.user_id = user;
    grant.merchant_id = "*";
    grant.consent.explicit_opt_in = true;
    grant.consent.terms_version = "2026-01";
    grant.consent.consented_at_ms = kMorning;
    return grant;
  }
  AuthorizeRequest Charge(const std::string& txn, const std::string& user,
                          int64_t amount_minor) const {
    AuthorizeRequest request;
    request.transaction_id = absl::StrCat(prefix_, txn);
    request.user_id = user;
    request.merchant_id = "shop";
    request.amount_minor = amount_minor;
    request.currency = "CNY";
    return request;
  }

  FakeClock clock_{kMorning};
  std::shared_ptr<const Policy> policy_;
  std::string prefix_;
};

TEST_F(RedisSharedStateTest, TwoNodesChargingTheSameUsersAtOnceStayWithinTheCaps) {
  Node a = MakeNode(1);
  Node b = MakeNode(2);
  constexpr int kUsers = 4;
  for (int u = 0; u < kUsers; ++u) {
    absl::StatusOr<Mandate> granted = a.engine->GrantMandate(Grant(User(absl::StrCat(u))));
    ASSERT_TRUE(granted.ok()) << granted.status();
  }
  // 300 CNY charges: each user's 2,000 CNY daily cap admits six, whichever node decides.
  constexpr int kThreadsPerNode = 4;
  constexpr int kPerThread = 12;
  std::vector<std::atomic<int>> approved(kUsers);
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (Node* node : {&a, &b}) {
    for (int t = 0; t < kThreadsPerNode; ++t) {
      threads.emplace_back([&, node, t] {
        for (int i = 0; i < kPerThread; ++i) {
          const int u = i % kUsers;
          absl::StatusOr<AuthorizeResponse> response = node->engine->Authorize(Charge(
              absl::StrCat(node == &a ? "a" : "b", t, "-", i), User(absl::StrCat(u)), 30000));
          if (!response.ok()) {
            failed.fetch_add(1);
          } else if (response->decision == Decision::kApprove) {
            approved[u].fetch_add(1);
          }
        }
      });
    }
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  for (int u = 0; u < kUsers; ++u) EXPECT_EQ(approved[u].load(), 6) << "user " << u;
  EXPECT_GT(a.engine->conflicts() + b.engine->conflicts(), 0u)
      << "the nodes did race for the users (else this test shows nothing)";
}

TEST_F(RedisSharedStateTest, ARetryOnTheOtherNodeGetsTheFirstAnswer) {
  Node a = MakeNode(1);
  Node b = MakeNode(2);
  const std::string user = User("u");
  ASSERT_TRUE(a.engine->GrantMandate(Grant(user)).ok());
  absl::StatusOr<AuthorizeResponse> first = a.engine->Authorize(Charge("t", user, 100000));
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<AuthorizeResponse> retry = b.engine->Authorize(Charge("t", user, 100000));
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(*retry, *first);
  EXPECT_EQ(b.engine->Authorize(Charge("t", User("other"), 100000)).status().code(),
            absl::StatusCode::kAlreadyExists);
  // Counted once: 1,000 CNY more fits, a further 1 CNY does not.
  EXPECT_EQ(b.engine->Authorize(Charge("t2", user, 100000))->decision, Decision::kApprove);
  absl::StatusOr<AuthorizeResponse> over = a.engine->Authorize(Charge("t3", user, 100));
  ASSERT_TRUE(over.ok());
  EXPECT_THAT(Codes(*over), ElementsAre("DAILY_LIMIT"));
}

TEST_F(RedisSharedStateTest, ARevocationAndAnOutcomeOnOneNodeHoldOnTheOther) {
  Node a = MakeNode(1);
  Node b = MakeNode(2);
  const std::string user = User("u");
  absl::StatusOr<Mandate> mandate = a.engine->GrantMandate(Grant(user));
  ASSERT_TRUE(mandate.ok()) << mandate.status();
  ASSERT_EQ(b.engine->Authorize(Charge("t1", user, 100000))->decision, Decision::kApprove);
  ASSERT_TRUE(a.engine->ReportOutcome(Charge("t1", user, 0).transaction_id, Outcome::kFailed).ok());
  absl::StatusOr<Mandate> seen = b.engine->GetMandate(mandate->mandate_id);
  ASSERT_TRUE(seen.ok()) << seen.status();
  EXPECT_EQ(seen->status, MandateStatus::kActive);

  ASSERT_TRUE(a.engine->RevokeMandate(mandate->mandate_id, user, "lost phone").ok());
  absl::StatusOr<AuthorizeResponse> after = b.engine->Authorize(Charge("t2", user, 100));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->decision, Decision::kChallenge);
  EXPECT_THAT(Codes(*after), ElementsAre("MANDATE_REVOKED"));
}

TEST_F(RedisSharedStateTest, APrimaryWithoutTheFunctionsIsGivenThemByTheFirstCommit) {
  Node node = MakeNode(4);
  const std::string user = User("u");
  // The user's primary lost the library after the node loaded it, as a primary that joins the
  // cluster later never had it.
  const redis::LocalCluster::Primary primary =
      redis::TheCluster()->PrimaryOf(redis::KeySlot(absl::StrCat("{u:", user, "}")));
  ASSERT_FALSE(primary.address.empty());
  const int index = redis::TheCluster()->IndexOf(primary.address);
  ASSERT_EQ(redis::TheCluster()->Cli(index, "FUNCTION FLUSH"), "OK");
  ASSERT_EQ(redis::TheCluster()->Cli(index, "FUNCTION LIST"), "");

  absl::StatusOr<Mandate> granted = node.engine->GrantMandate(Grant(user));
  ASSERT_TRUE(granted.ok()) << granted.status();
  absl::StatusOr<AuthorizeResponse> charge = node.engine->Authorize(Charge("t1", user, 100));
  ASSERT_TRUE(charge.ok()) << charge.status();
  EXPECT_EQ(charge->decision, Decision::kApprove);
  EXPECT_THAT(redis::TheCluster()->Cli(index, "FUNCTION LIST"), ::testing::HasSubstr("vigil"));
}

TEST_F(RedisSharedStateTest, AStoreThatDoesNotAnswerApprovesNothing) {
  // A node that waits 200 ms for Redis.
  redis::ClusterOptions options;
  options.seeds = redis::TheCluster()->seeds();
  options.node.io_timeout = absl::Milliseconds(200);
  absl::StatusOr<std::unique_ptr<redis::ClusterClient>> cluster =
      redis::ClusterClient::Connect(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  absl::StatusOr<std::unique_ptr<RedisSharedState>> state =
      RedisSharedState::Create(cluster->get(), RedisSharedStateOptions{});
  ASSERT_TRUE(state.ok()) << state.status();
  EngineOptions engine_options;
  engine_options.id_seed = 3;
  std::unique_ptr<SharedEngine> engine =
      SharedEngine::Create(policy_, &clock_, engine_options, state->get());
  const std::string user = User("u");
  ASSERT_TRUE(engine->GrantMandate(Grant(user)).ok());

  // Every primary stops answering for longer than that.
  for (const std::string& primary : (*cluster)->primaries()) {
    ASSERT_EQ(
        redis::TheCluster()->Cli(redis::TheCluster()->IndexOf(primary), "CLIENT PAUSE 1500 ALL"),
        "OK");
  }
  EXPECT_EQ(engine->Authorize(Charge("t1", user, 100)).status().code(),
            absl::StatusCode::kUnavailable);
  absl::SleepFor(absl::Milliseconds(1600));
  // Once Redis answers again, so does the node.
  absl::StatusOr<AuthorizeResponse> later = engine->Authorize(Charge("t2", user, 100));
  ASSERT_TRUE(later.ok()) << later.status();
  EXPECT_EQ(later->decision, Decision::kApprove);
}

}  // namespace
}  // namespace vigil::store
