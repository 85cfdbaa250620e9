// The SharedState contract (engine/core/shared_state.h) as one typed suite, run against the
// in-memory fake the engine's tests use and against RedisSharedState on a real cluster: what the
// engine relies on from the store is the same in both. It checks what the Journal suite checks
// of a journal, where a shared store has it: the last write stands (here: only on top of the
// record it was decided on), what is read is what was written, and a store that fails says so
// and recovers; and what only a shared store has: records that must be new, and claims. And
// the outbox: a commit's notices are stored exactly when it is, after the user's earlier ones,
// and the scans see every user.

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/core/interned.h"
#include "engine/store/redis_notice_outbox.h"
#include "engine/store/redis_shared_state.h"
#include "engine/store/state_codec.h"
#include "fake_shared_state.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "local_cluster.h"

namespace vigil {
namespace {

using ::testing::ElementsAre;

// Each store under test can be made unreachable, as a network partition or a down cluster
// makes it, and reachable again.
class FakeUnderTest {
 public:
  static constexpr const char* kName = "fake";
  SharedState& state() { return state_; }
  NoticeOutbox& outbox() { return state_.outbox(); }
  void Settle() {}
  void SetUnreachable(bool unreachable) { state_.SetDown(unreachable); }

 private:
  FakeSharedState state_;
};

class RedisUnderTest {
 public:
  static constexpr const char* kName = "redis";
  RedisUnderTest() {
    redis::ClusterOptions options;
    options.seeds = redis::TheCluster()->seeds();
    options.node.io_timeout = absl::Milliseconds(200);  // a paused node is down after that
    cluster_ = *redis::ClusterClient::Connect(options);
    store::RedisNoticeOutbox::Options outbox_options;
    outbox_options.holder = "conformance";
    outbox_options.relay_interval = absl::ZeroDuration();  // Settle() relays
    outbox_ = *store::RedisNoticeOutbox::Create(cluster_.get(), outbox_options);
    store::RedisSharedStateOptions state_options;
    state_options.outbox = outbox_.get();
    state_ = *store::RedisSharedState::Create(cluster_.get(), state_options);
  }
  SharedState& state() { return *state_; }
  NoticeOutbox& outbox() { return *outbox_; }
  // The relay's work, done now.
  void Settle() { ASSERT_TRUE(outbox_->Settle().ok()); }
  // Every primary stops answering for a second (CLIENT PAUSE: a paused node takes no new
  // connection either, so there is no unpausing it early), or that second is over.
  void SetUnreachable(bool unreachable) {
    if (!unreachable) {
      absl::SleepFor(paused_until_ - absl::Now());
      return;
    }
    paused_until_ = absl::Now() + absl::Seconds(1);
    for (const std::string& primary : cluster_->primaries()) {
      EXPECT_EQ(
          redis::TheCluster()->Cli(redis::TheCluster()->IndexOf(primary), "CLIENT PAUSE 1000 ALL"),
          "OK");
    }
  }

 private:
  std::unique_ptr<redis::ClusterClient> cluster_;
  std::unique_ptr<store::RedisNoticeOutbox> outbox_;
  std::unique_ptr<store::RedisSharedState> state_;
  absl::Time paused_until_;
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

  Notice Told(NoticeKind kind, const std::string& user, const std::string& mandate) const {
    Notice notice;
    notice.kind = kind;
    notice.user_id = user;
    notice.mandate_id = mandate;
    notice.time_ms = 1'795'000'000'000;
    notice.text = absl::StrCat(mandate, " changed");
    return notice;
  }
  // This test's notices in the outbox (the cluster's is shared with other tests), in order:
  // each as "user mandate", with the user's prefix removed.
  std::vector<std::string> NoticesSoFar() {
    under_test_->Settle();
    std::vector<std::string> seen;
    uint64_t last = 0;
    EXPECT_TRUE(under_test_->outbox()
                    .ReadNotices(0,
                                 [&](const StoredNotice& stored) {
                                   EXPECT_GT(stored.cursor, last) << "in cursor order";
                                   last = stored.cursor;
                                   if (absl::StartsWith(stored.notice.user_id, prefix_)) {
                                     seen.push_back(
                                         absl::StrCat(stored.notice.user_id.substr(prefix_.size()),
                                                      " ", stored.notice.mandate_id));
                                   }
                                   return true;
                                 })
                    .ok());
    return seen;
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

  absl::StatusOr<std::optional<SharedState::Conflict>> first =
      state.Commit(this->Write(user, "", "t1", 1));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_FALSE(first->has_value());
  // A second writer that also started from nothing is refused, and told what is stored.
  absl::StatusOr<std::optional<SharedState::Conflict>> stale =
      state.Commit(this->Write(user, "", "t2", 2));
  ASSERT_TRUE(stale.ok()) << stale.status();
  ASSERT_TRUE(stale->has_value());
  EXPECT_EQ((*stale)->user.token, "t1");
  ASSERT_TRUE((*stale)->user.user.has_value());
  EXPECT_EQ((*stale)->user.user->strong_auth_failures, 1);
  EXPECT_EQ((*stale)->user.time_floor_ms, 1001);
  // On top of what is stored, it goes through.
  absl::StatusOr<std::optional<SharedState::Conflict>> next =
      state.Commit(this->Write(user, "t1", "t3", 3));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_FALSE(next->has_value());
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
  ASSERT_FALSE(state.Commit(charge)->has_value());
  absl::StatusOr<std::optional<TransactionSnapshot>> stored =
      state.ReadTransaction(user, this->Id("txn"));
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->amount_minor, 100);
  EXPECT_EQ((*stored)->response.decision_id, "d-" + this->Id("txn"));

  // The same transaction decided again elsewhere, on the current user: refused, with the record.
  SharedState::Write again = this->Write(user, "t1", "t2", 2);
  again.transactions.push_back({this->Transaction(this->Id("txn"), user, 100), true});
  absl::StatusOr<std::optional<SharedState::Conflict>> refused = state.Commit(again);
  ASSERT_TRUE(refused.ok()) << refused.status();
  ASSERT_TRUE(refused->has_value());
  ASSERT_EQ((*refused)->transactions.size(), 1u);
  ASSERT_TRUE((*refused)->transactions[0].has_value());
  EXPECT_EQ((*refused)->transactions[0]->response.decision_id, "d-" + this->Id("txn"));
  EXPECT_EQ(state.ReadUser(user)->token, "t1") << "nothing of the refused commit was written";

  // An outcome updates it.
  SharedState::Write outcome = this->Write(user, "t1", "t3", 3);
  TransactionSnapshot released = this->Transaction(this->Id("txn"), user, 100);
  released.released = true;
  outcome.transactions.push_back({released, false});
  ASSERT_FALSE(state.Commit(outcome)->has_value());
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
  ASSERT_FALSE(state.Commit(write)->has_value());
  SharedState::Write again = this->Write(user, "t1", "t2", 2);
  grant.mandate_id = "mdt_2";
  again.grants.push_back(grant);
  absl::StatusOr<std::optional<SharedState::Conflict>> refused = state.Commit(again);
  ASSERT_TRUE(refused.ok() && refused->has_value());
  ASSERT_EQ((*refused)->grants.size(), 1u);
  ASSERT_TRUE((*refused)->grants[0].has_value());
  EXPECT_EQ((*refused)->grants[0]->mandate_id, "mdt_1");
}

TYPED_TEST(SharedStateConformanceTest, ATransactionIdIsOneUsers) {
  SharedState& state = this->state();
  const std::string txn = this->Id("txn");
  const std::string a = this->Id("a");
  // Started, then answered: several claims can be under way at once.
  std::shared_ptr<SharedState::Claim> first = state.StartClaim(txn, a);
  std::shared_ptr<SharedState::Claim> other = state.StartClaim(this->Id("other"), a);
  EXPECT_TRUE(first->Wait().ok());
  EXPECT_TRUE(other->Wait().ok());
  EXPECT_TRUE(state.StartClaim(txn, a)->Wait().ok()) << "a retry: already this user's";
  EXPECT_EQ(state.StartClaim(txn, this->Id("b"))->Wait().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(state.TransactionOwner(txn).value_or(""), a);
  EXPECT_EQ(state.TransactionOwner(this->Id("none")).status().code(), absl::StatusCode::kNotFound);
}

TYPED_TEST(SharedStateConformanceTest, WhatIsReadIsWhatWasWrittenRecordForRecord) {
  SharedState& state = this->state();
  const std::string user = this->Id("u");
  SharedState::Write write = this->Write(user, "", "t1", 2);
  UserSnapshot& written = write.user;
  written.profile = UserProfile{user, "1950-03-01", true, 50000, 200000, true};
  MandateSnapshot mandate;
  mandate.mandate = Mandate{"mdt_1",
                            user,
                            "shop",
                            MandateStatus::kPaused,
                            1'900'000'000'000,
                            10000,
                            50000,
                            300000,
                            Consent{true, "2026-01", 1'795'000'000'000, "app"},
                            1'795'000'000'000,
                            1'795'700'000'000,
                            0,
                            ""};
  mandate.day = {20419, 3000, 2};
  mandate.month = {671, 9000, 5};
  written.mandates.push_back(mandate);
  written.day = {20419, 4000, 3};
  written.windows.events = {1, 2, 3, 4};
  written.approvals_since_strong_auth = 4;
  written.attempts_since_strong_auth = 6;
  TransactionSnapshot charge = this->Transaction(this->Id("txn"), user, 3000);
  charge.outcome = Outcome::kStrongAuthPassed;
  charge.response.reasons.push_back(
      InternReason(Reason{"NEW_DEVICE", "devices.new", "first charge from this device"}));
  write.transactions.push_back({charge, true});
  GrantSnapshot grant;
  grant.request.request_id = this->Id("grant");
  grant.request.user_id = user;
  grant.request.merchant_id = "shop";
  grant.mandate_id = "mdt_1";
  grant.seen_ms = 1'795'000'000'000;
  write.grants.push_back(grant);
  ASSERT_FALSE(state.Commit(write)->has_value());

  absl::StatusOr<SharedState::UserRecord> read = state.ReadUser(user);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_TRUE(read->user.has_value());
  EXPECT_EQ(store::Encode(*read->user).SerializeAsString(),
            store::Encode(written).SerializeAsString());
  EXPECT_EQ(read->user->mandates.at(0).mandate.consent, mandate.mandate.consent);
  absl::StatusOr<std::optional<TransactionSnapshot>> stored =
      state.ReadTransaction(user, this->Id("txn"));
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ((*stored)->response, charge.response);
  EXPECT_EQ((*stored)->outcome, charge.outcome);
  EXPECT_EQ(store::Encode(**stored).SerializeAsString(), store::Encode(charge).SerializeAsString());
  // The grant is there: made again, it is refused with what is stored.
  SharedState::Write again = this->Write(user, "t1", "t2", 3);
  again.grants.push_back(grant);
  absl::StatusOr<std::optional<SharedState::Conflict>> refused = state.Commit(again);
  ASSERT_TRUE(refused.ok() && refused->has_value());
  ASSERT_TRUE((*refused)->grants.at(0).has_value());
  EXPECT_EQ(store::Encode(*(*refused)->grants[0]).SerializeAsString(),
            store::Encode(grant).SerializeAsString());
}

TYPED_TEST(SharedStateConformanceTest, AnUnreachableStoreSaysSoAndServesAgainOnItsOwn) {
  SharedState& state = this->state();
  const std::string user = this->Id("u");
  ASSERT_FALSE(state.Commit(this->Write(user, "", "t1", 1))->has_value());

  this->under_test_->SetUnreachable(true);
  EXPECT_EQ(state.ReadUser(user).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(state.Commit(this->Write(user, "t1", "t2", 2)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(state.StartClaim(this->Id("txn"), user)->Wait().code(), absl::StatusCode::kUnavailable);
  this->under_test_->SetUnreachable(false);

  // Served again without being told (a connection comes back within a few tries).
  absl::StatusOr<SharedState::UserRecord> read = state.ReadUser(user);
  for (int i = 0; i < 50 && !read.ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    read = state.ReadUser(user);
  }
  ASSERT_TRUE(read.ok()) << read.status();
  // Nothing of the failed commit was written: the store stopped before it.
  EXPECT_EQ(read->token, "t1");
  absl::StatusOr<std::optional<SharedState::Conflict>> after =
      state.Commit(this->Write(user, "t1", "t3", 3));
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_FALSE(after->has_value());
  EXPECT_EQ(state.ReadUser(user)->token, "t3");
}

TYPED_TEST(SharedStateConformanceTest, ACommitsNoticesAreStoredExactlyWhenItIs) {
  SharedState& state = this->state();
  const std::string user = this->Id("u");
  SharedState::Write granted = this->Write(user, "", "t1", 1);
  granted.notices = {this->Told(NoticeKind::kMandateGranted, user, "m1"),
                     this->Told(NoticeKind::kMandateGranted, user, "m2")};
  ASSERT_FALSE(state.Commit(granted)->has_value());
  // A refused commit tells nothing: it was decided on a record that is not the user's now.
  SharedState::Write stale = this->Write(user, "", "t2", 2);
  stale.notices = {this->Told(NoticeKind::kMandateRevoked, user, "m1")};
  ASSERT_TRUE(state.Commit(stale)->has_value());
  SharedState::Write revoked = this->Write(user, "t1", "t3", 3);
  revoked.notices = {this->Told(NoticeKind::kMandateRevoked, user, "m2")};
  ASSERT_FALSE(state.Commit(revoked)->has_value());
  EXPECT_THAT(this->NoticesSoFar(), ElementsAre("u m1", "u m2", "u m2"));

  // Nor does a commit that never reached the store.
  this->under_test_->SetUnreachable(true);
  SharedState::Write lost = this->Write(user, "t3", "t4", 4);
  lost.notices = {this->Told(NoticeKind::kMandateRevoked, user, "m3")};
  EXPECT_FALSE(state.Commit(lost).ok());
  this->under_test_->SetUnreachable(false);
  absl::StatusOr<SharedState::UserRecord> read = state.ReadUser(user);
  for (int i = 0; i < 50 && !read.ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(100));
    read = state.ReadUser(user);
  }
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(this->NoticesSoFar(), ElementsAre("u m1", "u m2", "u m2"));
}

TYPED_TEST(SharedStateConformanceTest, NoticesNoChangeCarriesFollowTheUsersEarlierOnes) {
  SharedState& state = this->state();
  const std::string a = this->Id("a");
  const std::string b = this->Id("b");
  SharedState::Write granted = this->Write(a, "", "t1", 1);
  granted.notices = {this->Told(NoticeKind::kMandateGranted, a, "m1")};
  ASSERT_FALSE(state.Commit(granted)->has_value());
  ASSERT_TRUE(state
                  .Notify({this->Told(NoticeKind::kMandateDormant, a, "m1"),
                           this->Told(NoticeKind::kMandateDormant, b, "m9"),
                           this->Told(NoticeKind::kMandateExpiring, a, "m1")})
                  .ok());
  std::vector<std::string> seen = this->NoticesSoFar();
  ASSERT_EQ(seen.size(), 4u);
  // Each user's in the order made; users' among themselves in any order.
  std::vector<std::string> of_a;
  for (const std::string& notice : seen) {
    if (notice[0] == 'a') of_a.push_back(notice);
  }
  EXPECT_THAT(of_a, ElementsAre("a m1", "a m1", "a m1"));
  EXPECT_THAT(seen, ::testing::Contains("b m9"));

  ASSERT_TRUE(state.SetMark(this->Id("daily"), 1234).ok());
  EXPECT_EQ(this->under_test_->outbox().ReadMark(this->Id("daily")).value_or(0), 1234);
  EXPECT_EQ(this->under_test_->outbox().ReadMark(this->Id("never")).value_or(-1), 0);
}

TYPED_TEST(SharedStateConformanceTest, TheScansSeeEveryUserAsStored) {
  SharedState& state = this->state();
  std::set<std::string> written;
  for (int i = 0; i < 600; ++i) {  // more than a page of a SCAN
    const std::string user = this->Id(absl::StrCat("u", i));
    ASSERT_FALSE(state.Commit(this->Write(user, "", "t1", i))->has_value());
    written.insert(user);
  }
  std::set<std::string> seen;
  int batches = 0;
  ASSERT_TRUE(state
                  .ForEachUser([&](const std::vector<UserSnapshot>& users) {
                    ++batches;
                    for (const UserSnapshot& user : users) {
                      if (!absl::StartsWith(user.user_id, this->prefix_)) continue;
                      EXPECT_TRUE(seen.insert(user.user_id).second) << "once: " << user.user_id;
                      const int i = std::stoi(user.user_id.substr(this->prefix_.size() + 1));
                      EXPECT_EQ(user.strong_auth_failures, i) << "as stored";
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(seen, written);
  EXPECT_GT(batches, 1);
  // A batch's error stops the walk, and is what it returns.
  int after_error = 0;
  EXPECT_EQ(state
                .ForEachUser([&](const std::vector<UserSnapshot>&) {
                  ++after_error;
                  return absl::DataLossError("stop");
                })
                .code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(after_error, 1);
}

TYPED_TEST(SharedStateConformanceTest, MandatesAreFoundByTheirOwner) {
  SharedState& state = this->state();
  ASSERT_TRUE(state.SetMandateOwner(this->Id("mdt"), this->Id("u")).ok());
  EXPECT_EQ(state.MandateOwner(this->Id("mdt")).value_or(""), this->Id("u"));
  EXPECT_EQ(state.MandateOwner(this->Id("none")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil
