// Durability: whatever the engine acknowledged comes back after a restart, through every
// journal; and every fault of the data directory is a clear error that changes nothing.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/rules/rule_set.h"
#include "engine/store/memory_journal.h"
#include "engine/store/rocksdb_store.h"
#include "full_disk.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "journals_under_test.h"
#include "rocksdb/db.h"

namespace vigil::store {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr int64_t kNow = 1'795'744'800'000;  // 2026-11-27 10:00 +08:00

std::shared_ptr<const Policy> Shipped() {
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(VIGIL_RULES_DIR);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

fs::path TempDir(absl::string_view name) {
  const fs::path dir =
      fs::temp_directory_path() / absl::StrCat("vigil-store-", name, "-", getpid(), "-",
                                               ::testing::UnitTest::GetInstance()->random_seed());
  fs::remove_all(dir);
  return dir;
}

class RestoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = MakeJournalUnderTest(GetParam());
    engine_ = NewEngine();
  }

  std::unique_ptr<Engine> NewEngine() {
    EngineOptions options;
    options.trust_client_time = true;
    options.journal = &backend_->journal();
    return Engine::Create(policy_, &clock_, options);
  }

  // Restarts: a new engine from what the journal restores.
  void Restart() {
    engine_.reset();
    const absl::StatusOr<RestoredState> state = backend_->Restart();
    ASSERT_TRUE(state.ok()) << state.status();
    engine_ = NewEngine();
    ASSERT_TRUE(engine_->Restore(*state).ok());
  }

  AuthorizeResponse Charge(const std::string& txn, int64_t minutes, const std::string& mandate = "",
                           int64_t amount = 1000) {
    AuthorizeRequest request;
    request.transaction_id = txn;
    request.user_id = "grandma";
    request.merchant_id = "grocer";
    request.mandate_id = mandate;
    request.amount_minor = amount;
    request.currency = "CNY";
    request.device_id = "phone";
    request.event_time_ms = kNow + minutes * 60'000;
    absl::StatusOr<AuthorizeResponse> response = engine_->Authorize(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? *response : AuthorizeResponse{};
  }

  // grandma's general mandate, which her charges use when they name none.
  static GrantMandateRequest GeneralGrant() {
    GrantMandateRequest grant;
    grant.user_id = "grandma";
    grant.merchant_id = "*";
    grant.consent = Consent{true, "2026-01", kNow - 1000, "app"};
    return grant;
  }

  static std::vector<std::string> Codes(const AuthorizeResponse& response) {
    std::vector<std::string> codes;
    for (const Reason* reason : response.reasons) codes.push_back(reason->code);
    return codes;
  }

  FakeClock clock_{kNow};
  std::shared_ptr<const Policy> policy_ = Shipped();
  std::unique_ptr<JournalUnderTest> backend_;
  std::unique_ptr<Engine> engine_;
};

TEST_P(RestoreTest, EverythingAcknowledgedSurvivesARestart) {
  UserProfile profile;
  profile.user_id = "grandma";
  profile.birth_date = "1950-01-01";
  profile.risk_assessment_completed = true;
  ASSERT_TRUE(engine_->PutUserProfile(profile).ok());
  GrantMandateRequest grant = GeneralGrant();
  grant.request_id = "grant-1";
  absl::StatusOr<Mandate> general = engine_->GrantMandate(grant);
  ASSERT_TRUE(general.ok()) << general.status();
  GrantMandateRequest shop = grant;
  shop.request_id = "grant-2";
  shop.merchant_id = "grocer";
  absl::StatusOr<Mandate> grocer = engine_->GrantMandate(shop);
  ASSERT_TRUE(grocer.ok());
  ASSERT_TRUE(engine_->RevokeMandate(grocer->mandate_id, "grandma", "cancelled").ok());

  // An elderly user gets 5 approvals an hour; one is given back by a FAILED outcome.
  const AuthorizeResponse first = Charge("t0", 0);
  ASSERT_EQ(first.decision, Decision::kApprove);
  for (int i = 1; i < 5; ++i)
    ASSERT_EQ(Charge(absl::StrCat("t", i), i).decision, Decision::kApprove);
  ASSERT_TRUE(engine_->ReportOutcome("t0", Outcome::kFailed).ok());
  ASSERT_EQ(Charge("t5", 5).decision, Decision::kApprove);

  Restart();

  // The hour's approvals are all still counted: the 6th is challenged.
  EXPECT_THAT(Codes(Charge("t6", 6)), ::testing::Contains("VELOCITY_USER_1H"));
  // A retried transaction gets its first answer and counts nothing.
  const AuthorizeResponse replay = Charge("t0", 0);
  EXPECT_EQ(replay, first);
  // The released amount is not released twice.
  ASSERT_TRUE(engine_->ReportOutcome("t0", Outcome::kFailed).ok());
  const AuthorizeResponse seventh = Charge("t7", 7);
  EXPECT_EQ(seventh.decision, Decision::kChallenge);
  EXPECT_THAT(Codes(seventh), ::testing::Contains("VELOCITY_USER_1H"));
  // The revocation holds.
  EXPECT_THAT(Codes(Charge("t8", 8, grocer->mandate_id)), ::testing::Contains("MANDATE_REVOKED"));
  // Profile, mandates and grant idempotency are back.
  absl::StatusOr<UserProfile> restored = engine_->GetUserProfile("grandma");
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->birth_date, "1950-01-01");
  absl::StatusOr<std::vector<Mandate>> mandates = engine_->ListMandates("grandma", true);
  ASSERT_TRUE(mandates.ok());
  ASSERT_EQ(mandates->size(), 2u);
  EXPECT_EQ((*mandates)[1].status, MandateStatus::kRevoked);
  EXPECT_EQ((*mandates)[1].revoke_reason, "cancelled");
  absl::StatusOr<Mandate> again = engine_->GrantMandate(grant);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->mandate_id, general->mandate_id);
  EXPECT_EQ(engine_->GetMandate(general->mandate_id)->last_used_at_ms, kNow + 5 * 60'000);
}

TEST_P(RestoreTest, ExpiredIdempotencyRecordsStayForgotten) {
  ASSERT_TRUE(engine_->GrantMandate(GeneralGrant()).ok());
  const AuthorizeResponse old = Charge("old", 0);
  clock_.AdvanceMs(60 * 60'000);
  Charge("new", 60);
  absl::StatusOr<size_t> expired = engine_->ExpireTransactions(kNow + 30 * 60'000);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 1u);
  Restart();
  EXPECT_EQ(engine_->ReportOutcome("old", Outcome::kCompleted).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(engine_->ReportOutcome("new", Outcome::kCompleted).ok());
  EXPECT_NE(Charge("old", 61).decision_id, old.decision_id) << "decided afresh";
}

TEST_P(RestoreTest, RetentionStillCountsFromWhenTheChargeWasSeenAfterARestart) {
  ASSERT_TRUE(engine_->GrantMandate(GeneralGrant()).ok());
  Charge("replayed", -30 * 24 * 60);  // dated a month before it was seen
  Restart();
  absl::StatusOr<size_t> expired = engine_->ExpireTransactions(kNow - 7 * 24 * 60 * 60'000LL);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(*expired, 0u);
  EXPECT_TRUE(engine_->ReportOutcome("replayed", Outcome::kCompleted).ok());
}

TEST_P(RestoreTest, GrantRecordsExpireAfterTheRetentionDurably) {
  GrantMandateRequest grant = GeneralGrant();
  grant.request_id = "grant-1";
  const absl::StatusOr<Mandate> first = engine_->GrantMandate(grant);
  ASSERT_TRUE(first.ok()) << first.status();
  Restart();
  // Within the retention the same request answers with the same mandate, across a restart.
  const absl::StatusOr<Mandate> again = engine_->GrantMandate(grant);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->mandate_id, first->mandate_id);
  EXPECT_EQ(engine_->CountRecords().grants, 1u);

  constexpr int64_t kRetentionMs = 7 * 24 * 60 * 60'000LL;
  clock_.AdvanceMs(kRetentionMs + 60'000);
  const absl::StatusOr<size_t> expired = engine_->ExpireTransactions(clock_.NowMs() - kRetentionMs);
  ASSERT_TRUE(expired.ok()) << expired.status();
  EXPECT_EQ(*expired, 1u);
  EXPECT_EQ(engine_->CountRecords().grants, 0u);
  Restart();
  EXPECT_EQ(engine_->CountRecords().grants, 0u) << "the expiry did not reach the journal";
}

INSTANTIATE_TEST_SUITE_P(Journals, RestoreTest, ::testing::Values("memory", "rocksdb"));

// --- faults of the data directory ---------------------------------------------------------------

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir("fault"); }
  void TearDown() override { fs::remove_all(dir_); }

  absl::StatusOr<std::unique_ptr<RocksDbStore>> Open(rocksdb::Env* env = nullptr,
                                                     WriteObserver* observer = nullptr) {
    return RocksDbStore::Open(StoreOptions{.path = dir_.string(),
                                           .sync = true,
                                           .env = env,
                                           .observer = observer,
                                           .retry_interval = absl::Milliseconds(10)});
  }

  fs::path dir_;
};

TEST_F(FaultTest, ANewerFormatIsRefusedAndLeftAlone) {
  {
    rocksdb::Options options;
    options.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(options, dir_.string(), &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "meta/format", "2").ok());
    delete db;
  }
  const absl::Status status = Open().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("format 2 by a newer vigild"));
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::OpenForReadOnly(rocksdb::Options(), dir_.string(), &db).ok());
  std::string format;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), "meta/format", &format).ok());
  EXPECT_EQ(format, "2");
  delete db;
}

TEST_F(FaultTest, ADamagedStoreIsDataLossAndLeftAlone) {
  ASSERT_TRUE(Open().ok());
  // Damage the manifest the database needs to open.
  fs::path manifest;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    if (entry.path().filename().string().rfind("MANIFEST", 0) == 0) manifest = entry.path();
  }
  ASSERT_FALSE(manifest.empty());
  {
    std::fstream file(manifest, std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(0);
    file << std::string(64, '\xff');
  }
  const auto before = fs::file_size(manifest);
  const absl::Status status = Open().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("damaged and was left as it is"));
  EXPECT_EQ(fs::file_size(manifest), before);
}

TEST_F(FaultTest, ADamagedRecordIsDataLossAtLoad) {
  {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store = Open();
    ASSERT_TRUE(store.ok());
  }
  {
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_.string(), &db).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "u/someone", "\xff\xff not a record").ok());
    delete db;
  }
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store = Open();
  ASSERT_TRUE(store.ok());
  const absl::Status status = (*store)->Load().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(status.message()), HasSubstr("\"u/someone\" cannot be read"));
}

TEST_F(FaultTest, ADirectoryInUseIsRefused) {
  absl::StatusOr<std::unique_ptr<RocksDbStore>> first = Open();
  ASSERT_TRUE(first.ok());
  const absl::Status second = Open().status();
  EXPECT_EQ(second.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second.message()), HasSubstr("in use by another vigild"));
}

TEST_F(FaultTest, SomeoneElsesDirectoryIsNotTouched) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "notes.txt") << "precious";
  const absl::Status status = Open().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("not a Vigil data directory"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

// Counts what the store's writer tells it, as vigild's metrics and log do.
class CountingObserver final : public WriteObserver {
 public:
  void OnBatchWritten(size_t changes, absl::Duration) override {
    batches += 1;
    this->changes += changes;
  }
  void OnWriteFailed(const absl::Status&) override { failures += 1; }
  void OnWriteRecovered() override { recoveries += 1; }
  std::atomic<int> batches{0}, changes{0}, failures{0}, recoveries{0};
};

// Authorize as servers call it: the answer comes back from the store's writer thread.
absl::StatusOr<AuthorizeResponse> AuthorizeWhenDurable(Engine& engine,
                                                       const AuthorizeRequest& request) {
  absl::Notification answered;
  absl::StatusOr<AuthorizeResponse> answer;
  engine.Authorize(request, [&](absl::StatusOr<AuthorizeResponse> response) {
    answer = std::move(response);
    answered.Notify();
  });
  answered.WaitForNotification();
  return answer;
}

TEST_F(FaultTest, AFullDiskRefusesChangesKeepsReadsAndRecovers) {
  FullDisk disk;
  CountingObserver observer;
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store = Open(disk.env(), &observer);
  ASSERT_TRUE(store.ok()) << store.status();
  FakeClock clock(kNow);
  EngineOptions options;
  options.journal = store->get();
  const std::unique_ptr<Engine> engine_owner = Engine::Create(Shipped(), &clock, options);
  Engine& engine = *engine_owner;
  GrantMandateRequest grant;
  grant.user_id = "u";
  grant.merchant_id = "*";
  grant.consent = Consent{true, "2026-01", kNow - 1000, "app"};
  absl::StatusOr<Mandate> mandate = engine.GrantMandate(grant);
  ASSERT_TRUE(mandate.ok());
  AuthorizeRequest charge;
  charge.transaction_id = "before";
  charge.user_id = "u";
  charge.merchant_id = "m";
  charge.amount_minor = 100;
  charge.currency = "CNY";
  ASSERT_TRUE(engine.Authorize(charge).ok());

  disk.SetFull(true);
  charge.transaction_id = "while-full";
  const absl::Status failed = AuthorizeWhenDurable(engine, charge).status();
  EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(failed.message()), HasSubstr("no space left on device"));
  // Further changes are refused before they are made; reads work.
  charge.transaction_id = "refused";
  EXPECT_EQ(engine.Authorize(charge).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(engine.RevokeAllMandates("u", "x").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(engine.GetMandate(mandate->mandate_id).ok());
  EXPECT_TRUE(engine.ListMandates("u", true).ok());

  disk.SetFull(false);
  // The store retries on its own, and RocksDB checks free space every few seconds: wait for it,
  // at most 30 s.
  absl::Status ready = (*store)->Ready();
  for (int i = 0; i < 3000 && !ready.ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    ready = (*store)->Ready();
  }
  ASSERT_TRUE(ready.ok()) << ready;
  charge.transaction_id = "after";
  EXPECT_TRUE(AuthorizeWhenDurable(engine, charge).ok());
  charge.transaction_id = "after-2";
  EXPECT_TRUE(engine.Authorize(charge).ok());
  EXPECT_GE((*store)->stats().failed_writes, 1u);
  // One failure and one recovery told, however many retries there were between them.
  EXPECT_EQ(observer.failures.load(), 1);
  EXPECT_EQ(observer.recoveries.load(), 1);
  EXPECT_GE(observer.batches.load(), 3);
  EXPECT_GE(observer.changes.load(), observer.batches.load());
}

}  // namespace
}  // namespace vigil::store
