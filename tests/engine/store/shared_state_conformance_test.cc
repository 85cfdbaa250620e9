// The SharedState contract (engine/core/shared_state.h) as one typed suite, run against the
// in-memory fake the engine's tests use and against RedisSharedState on a real cluster: what the
// engine relies on from the store is the same in both.

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/store/redis_shared_state.h"
#include "fake_shared_state.h"
#include "gtest/gtest.h"
#include "local_cluster.h"

namespace vigil {
namespace {

class FakeUnderTest {
 public:
  static constexpr const char* kName = "fake";
  SharedState& state() { return state_; }

 private:
  FakeSharedState state_;
};

class RedisUnderTest {
 public:
  static constexpr const char* kName = "redis";
  RedisUnderTest() {
    redis::ClusterOptions options;
    options.seeds = redis::TheCluster()->seeds();
    cluster_ = *redis::ClusterClient::Connect(options);
    state_ = *store::RedisSharedState::Create(cluster_.get(), store::RedisSharedStateOptions{});
  }
  SharedState& state() { return *state_; }

 private:
  std::unique_ptr<redis::ClusterClient> cluster_;
  std::unique_ptr<store::RedisSharedState> state_;
};

template <typename T>
class SharedStateConformanceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string(T::kName) == "redis") {
      ASSERT_NE(redis::TheCluster(), nullptr) << "the local cluster did not start";
    }
    under_test_ = std::make_unique<T>();
    // Keys of their own: the cluster outlives each test.
    prefix_ =
        absl::StrCat(T::kName, "-", ::testing::UnitTest::GetInstance()->current_test_info()->name(),
                     "-", getpid(), "-");
  }
  SharedState& state() { return under_test_->state(); }
  std::string Id(absl::string_view name) const { return absl::StrCat(prefix_, name); }

  SharedState::Write Write(const std::string& user, const std::string& base,
                           const std::string& token, int64_t failures) const {
    SharedState::Write write;
    write.writer = "node-1";
    write.user_id = user;
    write.base_token = base;
    write.new_token = token;
    write.user.user_id = user;
    write.user.strong_auth_failures = failures;  // tells the versions apart
    write.time_floor_ms = 1000 + failures;
    return write;
  }
  TransactionSnapshot Transaction(const std::string& id, const std::string& user,
                                  int64_t amount) const {
    TransactionSnapshot transaction;
    transaction.transaction_id = id;
    transaction.user_id = user;
    transaction.merchant_id = "shop";
    transaction.amount_minor = amount;
    transaction.currency = "CNY";
    transaction.response.decision = Decision::kApprove;
    transaction.response.decision_id = "d-" + id;
    transaction.response.rules_version = "v1";
    return transaction;
  }

  std::unique_ptr<T> under_test_;
  std::string prefix_;
};

struct StateName {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};
using States = ::testing::Types<FakeUnderTest, RedisUnderTest>;
TYPED_TEST_SUITE(SharedStateConformanceTest, States, StateName);

TYPED_TEST(SharedStateConformanceTest, AUserIsWrittenOnlyOnTopOfTheRecordItWasDecidedOn) {
  SharedState& state = this->state();
  const std::string user = this->Id("u");
  absl::StatusOr<SharedState::UserRecord> none = state.ReadUser(user);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(none->token, "");
  EXPECT_FALSE(none->user.has_value());

  absl::StatusOr<SharedState::Committed> first = state.Commit(this->Write(user, "", "t1", 1));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->conflict.has_value());
  // A second writer that also started from nothing is refused, and told what is stored.
  absl::StatusOr<SharedState::Committed> stale = state.Commit(this->Write(user, "", "t2", 2));
  ASSERT_TRUE(stale.ok()) << stale.status();
  ASSERT_TRUE(stale->conflict.has_value());
  EXPECT_EQ(stale->conflict->user.token, "t1");
  ASSERT_TRUE(stale->conflict->user.user.has_value());
  EXPECT_EQ(stale->conflict->user.user->strong_auth_failures, 1);
  EXPECT_EQ(stale->conflict->user.time_floor_ms, 1001);
  // On top of what is stored, it goes through.
  absl::StatusOr<SharedState::Committed> next = state.Commit(this->Write(user, "t1", "t3", 3));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->conflict.has_value());
  absl::StatusOr<SharedState::UserRecord> read = state.ReadUser(user);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read->token, "t3");
  EXPECT_EQ(read->user->strong_auth_failures, 3);
  EXPECT_EQ(read->time_floor_ms, 1003);
}

TYPED_TEST(SharedStateConformanceTest, ARecordThatMustBeNewIsRefusedWhenItExists) {
  SharedState& state = this->state();
  const std::string user = this->Id("u");
  SharedState::Write charge = this->Write(user, "", "t1", 1);
  charge.transactions.push_back({this->Transaction(this->Id("txn"), user, 100), true});
  ASSERT_FALSE(state.Commit(charge)->conflict.has_value());
  absl::StatusOr<std::optional<TransactionSnapshot>> stored =
      state.ReadTransaction(user, this->Id("txn"));
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->amount_minor, 100);
  EXPECT_EQ((*stored)->response.decision_id, "d-" + this->Id("txn"));

  // The same transaction decided again elsewhere, on the current user: refused, with the record.
  SharedState::Write again = this->Write(user, "t1", "t2", 2);
  again.transactions.push_back({this->Transaction(this->Id("txn"), user, 100), true});
  absl::StatusOr<SharedState::Committed> refused = state.Commit(again);
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_TRUE(refused->conflict.has_value());
  ASSERT_EQ(refused->conflict->transactions.size(), 1u);
  ASSERT_TRUE(refused->conflict->transactions[0].has_value());
  EXPECT_EQ(refused->conflict->transactions[0]->response.decision_id, "d-" + this->Id("txn"));
  EXPECT_EQ(state.ReadUser(user)->token, "t1") << "nothing of the refused commit was written";

  // An outcome updates it.
  SharedState::Write outcome = this->Write(user, "t1", "t3", 3);
  TransactionSnapshot released = this->Transaction(this->Id("txn"), user, 100);
  released.released = true;
  outcome.transactions.push_back({released, false});
  ASSERT_FALSE(state.Commit(outcome)->conflict.has_value());
  EXPECT_TRUE((*state.ReadTransaction(user, this->Id("txn")))->released);
  EXPECT_FALSE(state.ReadTransaction(user, this->Id("none"))->has_value());
}

TYPED_TEST(SharedStateConformanceTest, AGrantRecordIsNewOnce) {
  SharedState& state = this->state();
  const std::string user = this->Id("u");
  GrantSnapshot grant;
  grant.request.request_id = this->Id("grant");
  grant.request.user_id = user;
  grant.mandate_id = "mdt_1";
  SharedState::Write write = this->Write(user, "", "t1", 1);
  write.grants.push_back(grant);
  ASSERT_FALSE(state.Commit(write)->conflict.has_value());
  SharedState::Write again = this->Write(user, "t1", "t2", 2);
  grant.mandate_id = "mdt_2";
  again.grants.push_back(grant);
  absl::StatusOr<SharedState::Committed> refused = state.Commit(again);
  ASSERT_TRUE(refused.ok() && refused->conflict.has_value());
  ASSERT_EQ(refused->conflict->grants.size(), 1u);
  ASSERT_TRUE(refused->conflict->grants[0].has_value());
  EXPECT_EQ(refused->conflict->grants[0]->mandate_id, "mdt_1");
}

TYPED_TEST(SharedStateConformanceTest, ATransactionIdIsClaimedWithACommitForOneUserOnly) {
  SharedState& state = this->state();
  const std::string txn = this->Id("txn");
  const std::string a = this->Id("a");
  const std::string b = this->Id("b");
  SharedState::Write first = this->Write(a, "", "a1", 1);
  first.claim = txn;
  absl::StatusOr<SharedState::Committed> claimed = state.Commit(first);
  ASSERT_TRUE(claimed.ok()) << claimed.status();
  EXPECT_FALSE(claimed->claim_refused);
  EXPECT_EQ(state.TransactionOwner(txn).value_or(""), a);
  // Claimed again for the same user (a retry): still that user's.
  SharedState::Write again = this->Write(a, "a1", "a2", 2);
  again.claim = txn;
  absl::StatusOr<SharedState::Committed> retried = state.Commit(again);
  ASSERT_TRUE(retried.ok()) << retried.status();
  EXPECT_FALSE(retried->claim_refused);
  EXPECT_FALSE(retried->conflict.has_value());

  // Another user's commit that claims it is told, and is written all the same: the claim and
  // the commit are independent, and undoing is the caller's.
  SharedState::Write other = this->Write(b, "", "b1", 7);
  other.claim = txn;
  absl::StatusOr<SharedState::Committed> refused = state.Commit(other);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_TRUE(refused->claim_refused);
  EXPECT_FALSE(refused->conflict.has_value());
  EXPECT_EQ(state.ReadUser(b)->token, "b1");
  EXPECT_EQ(state.TransactionOwner(txn).value_or(""), a);

  // A conflicting commit's claim is answered too.
  SharedState::Write stale = this->Write(b, "", "b2", 8);
  stale.claim = txn;
  absl::StatusOr<SharedState::Committed> both = state.Commit(stale);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_TRUE(both->claim_refused);
  ASSERT_TRUE(both->conflict.has_value());
  EXPECT_EQ(both->conflict->user.token, "b1");
  EXPECT_EQ(state.TransactionOwner(this->Id("none")).status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(SharedStateConformanceTest, MandatesAreFoundByTheirOwner) {
  SharedState& state = this->state();
  ASSERT_TRUE(state.SetMandateOwner(this->Id("mdt"), this->Id("u")).ok());
  EXPECT_EQ(state.MandateOwner(this->Id("mdt")).value_or(""), this->Id("u"));
  EXPECT_EQ(state.MandateOwner(this->Id("none")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil
