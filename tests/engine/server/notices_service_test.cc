// vigil.v1.Notices over gRPC, and the schedule of the notice scans: a consumer gets every
// notice after its last ack, live ones as they come, the unacked ones again after a
// disconnect or a restart, and a clear DATA_LOSS when it fell behind the retention; the scans
// run when due by the rules' local calendar, on a fake clock.

#include "engine/server/notices_service.h"

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/core/clock.h"
#include "engine/rules/rule_set.h"
#include "engine/server/notice_scheduler.h"
#include "engine/server/vigil_server.h"
#include "engine/store/memory_journal.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kNow = 1'795'744'800'000;  // 2026-11-27 10:00 +08:00

class NoticesServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / absl::StrCat("vigil-notices-", getpid(), "-",
                                                 ::testing::UnitTest::GetInstance()->random_seed());
    fs::remove_all(dir_);
    Start();
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void Start(bool with_store = true) {
    server_.reset();
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.admin_listen = "";
    options.rules_dir = VIGIL_RULES_DIR;
    options.data_dir = with_store ? dir_.string() : "";
    options.fsync = false;
    options.clock = &clock_;
    options.rules_poll_interval = absl::ZeroDuration();
    absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                       grpc::InsecureChannelCredentials());
    mandates_ = v1::Mandates::NewStub(channel);
    notices_ = v1::Notices::NewStub(channel);
  }

  std::string Grant(const std::string& user) {
    grpc::ClientContext context;
    v1::GrantMandateRequest request;
    request.set_user_id(user);
    request.set_merchant_id("grocer");
    request.mutable_consent()->set_explicit_opt_in(true);
    request.mutable_consent()->set_terms_version("2026-01");
    request.mutable_consent()->set_consented_at_ms(kNow);
    v1::Mandate mandate;
    EXPECT_TRUE(mandates_->GrantMandate(&context, request, &mandate).ok());
    return mandate.mandate_id();
  }

  grpc::Status Ack(const std::string& consumer, const std::string& cursor) {
    grpc::ClientContext context;
    v1::AckNoticesRequest request;
    request.set_consumer(consumer);
    request.set_cursor(cursor);
    v1::AckNoticesResponse response;
    return notices_->Ack(&context, request, &response);
  }

  // A Watch of `consumer` that the test reads from.
  struct Watching {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientReader<v1::Notice>> reader;

    // "cursor:user" of the next `n` notices.
    std::vector<std::string> Next(int n) {
      std::vector<std::string> got;
      v1::Notice notice;
      while (static_cast<int>(got.size()) < n && reader->Read(&notice)) {
        got.push_back(absl::StrCat(notice.cursor(), ":", notice.user_id()));
      }
      return got;
    }
    grpc::Status End() {
      v1::Notice notice;
      while (reader->Read(&notice)) {
      }
      return reader->Finish();
    }
  };
  std::unique_ptr<Watching> Watch(const std::string& consumer) {
    auto watching = std::make_unique<Watching>();
    watching->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::WatchNoticesRequest request;
    request.set_consumer(consumer);
    watching->reader = notices_->Watch(&watching->context, request);
    return watching;
  }

  FakeClock clock_{kNow};
  fs::path dir_;
  std::unique_ptr<VigilServer> server_;
  std::unique_ptr<v1::Mandates::Stub> mandates_;
  std::unique_ptr<v1::Notices::Stub> notices_;
};

TEST_F(NoticesServiceTest, AConsumerGetsWhatCameBeforeThenWhatComesLive) {
  Grant("ann");
  Grant("bob");
  std::unique_ptr<Watching> watching = Watch("app");
  EXPECT_THAT(watching->Next(2), ElementsAre("1:ann", "2:bob"));
  Grant("cy");  // while the stream is open
  EXPECT_THAT(watching->Next(1), ElementsAre("3:cy"));
  watching->context.TryCancel();
}

TEST_F(NoticesServiceTest, WhatWasNotAckedComesAgainAfterADisconnectAndARestart) {
  Grant("ann");
  Grant("bob");
  Grant("cy");
  {
    std::unique_ptr<Watching> crashed = Watch("app");
    EXPECT_THAT(crashed->Next(2), ElementsAre("1:ann", "2:bob"));
    crashed->context.TryCancel();  // gone before acking anything
  }
  {
    std::unique_ptr<Watching> again = Watch("app");
    EXPECT_THAT(again->Next(2), ElementsAre("1:ann", "2:bob"));
    ASSERT_TRUE(Ack("app", "1").ok());
    again->context.TryCancel();
  }
  // Another consumer has its own progress.
  std::unique_ptr<Watching> other = Watch("audit");
  EXPECT_THAT(other->Next(1), ElementsAre("1:ann"));
  other->context.TryCancel();

  Start();  // the same data directory: acks and notices survive
  std::unique_ptr<Watching> resumed = Watch("app");
  EXPECT_THAT(resumed->Next(2), ElementsAre("2:bob", "3:cy"));
  resumed->context.TryCancel();
}

TEST_F(NoticesServiceTest, AConsumerThatFellBehindTheRetentionIsToldAndCanGoOn) {
  Grant("ann");
  ASSERT_TRUE(Ack("app", "1").ok());
  Grant("bob");
  Grant("cy");
  clock_.AdvanceMs(kHour);
  Grant("dee");
  // bob's and cy's notices pass the retention unsent to "app".
  ASSERT_TRUE(server_->store()->DeleteNoticesBefore(kNow + kHour).ok());
  const grpc::Status behind = Watch("app")->End();
  EXPECT_EQ(behind.error_code(), grpc::StatusCode::DATA_LOSS);
  EXPECT_THAT(behind.error_message(), HasSubstr("after cursor 1 up to 3"));
  EXPECT_THAT(behind.error_message(), HasSubstr("Ack cursor 3"));

  ASSERT_TRUE(Ack("app", "3").ok());
  std::unique_ptr<Watching> going_on = Watch("app");
  EXPECT_THAT(going_on->Next(1), ElementsAre("4:dee"));
  going_on->context.TryCancel();
  // A consumer that never acked starts at the oldest notice kept.
  std::unique_ptr<Watching> newcomer = Watch("newcomer");
  EXPECT_THAT(newcomer->Next(1), ElementsAre("4:dee"));
  newcomer->context.TryCancel();
}

TEST_F(NoticesServiceTest, AServerShuttingDownEndsTheStreamsItWouldOtherwiseWaitFor) {
  Grant("ann");
  std::unique_ptr<Watching> watching = Watch("app");
  EXPECT_THAT(watching->Next(1), ElementsAre("1:ann"));
  server_->Shutdown(absl::Seconds(30));
  const grpc::Status ended = watching->End();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE) << ended.error_message();
  EXPECT_THAT(ended.error_message(), HasSubstr("shutting down"));
}

TEST_F(NoticesServiceTest, BadConsumersAndCursorsAreRefused) {
  Grant("ann");
  EXPECT_EQ(Watch("")->End().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Watch("app/../x")->End().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Ack("", "1").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Ack("app", "one").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Ack("app", "0").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  const grpc::Status past = Ack("app", "2");
  EXPECT_EQ(past.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(past.error_message(), HasSubstr("past the last notice, 1"));
  EXPECT_EQ(*server_->store()->AckedCursor("app"), std::nullopt) << "a refused ack changes nothing";
}

TEST(NoticeOptionsTest, ARetentionUnderAnHourIsRefused) {
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.admin_listen = "";
  options.rules_dir = VIGIL_RULES_DIR;
  options.notice_retention = absl::Minutes(30);
  const absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("--notice-retention-h"));
}

TEST_F(NoticesServiceTest, WithoutAStoreThereAreNoNotices) {
  Start(/*with_store=*/false);
  EXPECT_EQ(Watch("app")->End().error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Ack("app", "1").error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(server_->notice_scheduler(), nullptr);
}

// A journal's outbox, every call passed on: the tests' outboxes override what they change.
class JournalOutbox : public NoticeOutbox {
 public:
  explicit JournalOutbox(store::MemoryJournal& journal) : journal_(journal) {}

  absl::Status ReadNotices(uint64_t after,
                           absl::FunctionRef<bool(const StoredNotice&)> sink) override {
    return journal_.ReadNotices(after, sink);
  }
  uint64_t LastNoticeCursor() const override { return journal_.LastNoticeCursor(); }
  uint64_t TrimmedThrough() const override { return journal_.TrimmedThrough(); }
  absl::Status DeleteNoticesBefore(int64_t before_ms) override {
    return journal_.DeleteNoticesBefore(before_ms);
  }
  absl::StatusOr<std::optional<uint64_t>> AckedCursor(absl::string_view consumer) override {
    return journal_.AckedCursor(consumer);
  }
  absl::Status Ack(absl::string_view consumer, uint64_t cursor) override {
    return journal_.Ack(consumer, cursor);
  }
  void SetNoticeListener(absl::AnyInvocable<void(uint64_t last_cursor)> listener) override {
    journal_.SetNoticeListener(std::move(listener));
  }
  absl::StatusOr<int64_t> ReadMark(absl::string_view name) override {
    return journal_.ReadMark(name);
  }

 private:
  store::MemoryJournal& journal_;
};

// The outbox of a journal, counting the notices it hands out.
class CountingOutbox final : public JournalOutbox {
 public:
  using JournalOutbox::JournalOutbox;

  int64_t handed_out() const { return handed_out_.load(); }

  absl::Status ReadNotices(uint64_t after,
                           absl::FunctionRef<bool(const StoredNotice&)> sink) override {
    return JournalOutbox::ReadNotices(after, [&](const StoredNotice& notice) {
      handed_out_.fetch_add(1);
      return sink(notice);
    });
  }

 private:
  std::atomic<int64_t> handed_out_{0};
};

TEST(NoticesBackpressureTest, AStreamReadsFromTheOutboxOnlyAsFastAsItsConsumerTakes) {
  // 10,000 notices of 2 KB: 20 MB, far more than gRPC's flow-control windows hold.
  constexpr int kNotices = 10'000;
  store::MemoryJournal journal;
  StateChange change;
  for (int i = 0; i < kNotices; ++i) {
    Notice& notice = change.notices.emplace_back();
    notice.user_id = absl::StrCat("user-", i);
    notice.time_ms = kNow;
    notice.text = std::string(2048, 'x');
  }
  journal.Append(std::move(change));
  CountingOutbox outbox(journal);
  NoticesService service(&outbox);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  std::unique_ptr<v1::Notices::Stub> stub = v1::Notices::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));

  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::WatchNoticesRequest request;
  request.set_consumer("slow");
  std::unique_ptr<grpc::ClientReader<v1::Notice>> reader = stub->Watch(&context, request);
  v1::Notice notice;
  ASSERT_TRUE(reader->Read(&notice));

  // The consumer stops reading: the stream fills gRPC's windows, then reads no further.
  int64_t handed_out = outbox.handed_out();
  for (int unchanged = 0, polls = 0; unchanged < 10 && polls < 200; ++polls) {
    absl::SleepFor(absl::Milliseconds(50));
    const int64_t now = outbox.handed_out();
    unchanged = now == handed_out ? unchanged + 1 : 0;
    handed_out = now;
  }
  EXPECT_LT(handed_out, kNotices / 2);

  // It reads again: the rest come, in order.
  int received = 1;
  while (received < kNotices && reader->Read(&notice)) {
    ++received;
    ASSERT_EQ(notice.cursor(), absl::StrCat(received));
  }
  EXPECT_EQ(received, kNotices);
  context.TryCancel();
  service.Stop();
  server->Shutdown();
}

// --- the schedule ------------------------------------------------------------------------------

class NoticeSchedulerTest : public ::testing::Test {
 protected:
  // Local time +08:00 on `day` of November (30 = December 0) 2026, at `hour`:`minute`.
  static int64_t Local(int day, int hour, int minute = 0) {
    constexpr int64_t kNovember1 = 1'793'462'400'000;  // 2026-11-01 00:00 +08:00
    return kNovember1 + (day - 1) * kDay + hour * kHour + minute * 60'000;
  }

  // Which scans ran at `now_ms`: "daily", "summary", both or neither.
  std::vector<std::string> RunAt(int64_t now_ms) {
    clock_.SetMs(now_ms);
    absl::StatusOr<NoticeScheduler::Ran> ran = scheduler_.RunDue();
    EXPECT_TRUE(ran.ok()) << ran.status();
    std::vector<std::string> what;
    if (ran.ok() && ran->daily.has_value()) what.push_back("daily");
    if (ran.ok() && ran->summary.has_value()) what.push_back("summary");
    return what;
  }

  std::shared_ptr<const Policy> Shipped() {
    absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(VIGIL_RULES_DIR);
    EXPECT_TRUE(policy.ok()) << policy.status();
    return *std::move(policy);
  }

  FakeClock clock_{Local(2, 10)};
  store::MemoryJournal journal_;
  std::unique_ptr<Engine> engine_ =
      Engine::Create(Shipped(), &clock_, EngineOptions{.journal = &journal_});
  NoticeScheduler scheduler_{*engine_, journal_, clock_};
};

TEST_F(NoticeSchedulerTest, EachScanRunsOnceWhenDueInTheRulesLocalCalendar) {
  // Never run before: both are due (the summary of October, as 1 November has passed).
  EXPECT_THAT(RunAt(Local(2, 10)), ElementsAre("daily", "summary"));
  EXPECT_THAT(RunAt(Local(2, 23)), ElementsAre());
  EXPECT_THAT(RunAt(Local(3, 8, 59)), ElementsAre());
  EXPECT_THAT(RunAt(Local(3, 9)), ElementsAre("daily"));  // scan_at 09:00 local
  EXPECT_THAT(RunAt(Local(3, 12)), ElementsAre());
  // Down for weeks: one daily scan covers the gap; November is summed up only on 1 December.
  EXPECT_THAT(RunAt(Local(31, 8, 59)), ElementsAre("daily"));
  EXPECT_THAT(RunAt(Local(31, 9)), ElementsAre("daily", "summary"));
  EXPECT_THAT(RunAt(Local(32, 9)), ElementsAre("daily"));
  EXPECT_EQ(*journal_.ReadMark(NoticeScheduler::kDailyMark), Local(32, 9));
}

TEST_F(NoticeSchedulerTest, TheDailyScanReportsAMandateWhenItGoesDormant) {
  RunAt(Local(2, 10));
  GrantMandateRequest grant;
  grant.user_id = "ann";
  grant.merchant_id = "grocer";
  grant.consent = Consent{true, "2026-01", clock_.NowMs(), "app"};
  ASSERT_TRUE(engine_->GrantMandate(grant).ok());
  auto dormant = [&] {
    int found = 0;
    EXPECT_TRUE(journal_
                    .ReadNotices(0,
                                 [&](const StoredNotice& stored) {
                                   found += stored.notice.kind == NoticeKind::kMandateDormant;
                                   return true;
                                 })
                    .ok());
    return found;
  };
  for (int day = 3; day <= 92; ++day) RunAt(Local(day, 9));
  EXPECT_EQ(dormant(), 0) << "idle for 89 days at the 9:00 scan of day 92";
  RunAt(Local(93, 9));
  EXPECT_EQ(dormant(), 1);
  RunAt(Local(94, 9));
  EXPECT_EQ(dormant(), 1) << "reported once";
}

// An outbox shared by several processes, as a Redis Cluster's is: one journal, each process's
// view of it, and one lease on the scans among them.
class SharedOutbox final : public JournalOutbox {
 public:
  SharedOutbox(store::MemoryJournal& journal, const SharedOutbox*& lease)
      : JournalOutbox(journal), lease_(lease) {}
  absl::StatusOr<bool> AcquireScans() override {
    if (lease_ != nullptr && lease_ != this) return false;
    lease_ = this;
    return true;
  }
  void ReleaseScans() override {
    if (lease_ == this) lease_ = nullptr;
  }

 private:
  const SharedOutbox*& lease_;
};

TEST_F(NoticeSchedulerTest, OfProcessesSharingAnOutboxOneRunsTheScansAndTheOthersDoNotRepeatThem) {
  const SharedOutbox* lease = nullptr;
  SharedOutbox mine(journal_, lease), theirs(journal_, lease);
  NoticeScheduler here(*engine_, mine, clock_), there(*engine_, theirs, clock_);
  clock_.SetMs(Local(2, 10));
  ASSERT_TRUE(theirs.AcquireScans().value_or(false));  // the other process is scanning
  absl::StatusOr<NoticeScheduler::Ran> ran = here.RunDue();
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_FALSE(ran->daily.has_value() || ran->summary.has_value()) << "not while another scans";
  EXPECT_EQ(*journal_.ReadMark(NoticeScheduler::kDailyMark), 0);
  theirs.ReleaseScans();

  ran = here.RunDue();
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_TRUE(ran->daily.has_value() && ran->summary.has_value());
  EXPECT_EQ(lease, nullptr) << "given back once the marks are written";
  // The other reads the marks this one wrote: nothing is due again.
  ran = there.RunDue();
  ASSERT_TRUE(ran.ok()) << ran.status();
  EXPECT_FALSE(ran->daily.has_value() || ran->summary.has_value());
}

TEST(NextDailyRunTest, IsTheNextLocalScanTime) {
  const LocalCalendar china(8 * kHour);
  const int64_t nine = 9 * kHour;
  // 2026-11-27 10:00 +08:00 is past 09:00: the next run is tomorrow's.
  EXPECT_EQ(NoticeScheduler::NextDailyRun(kNow, nine, china), kNow + 23 * kHour);
  EXPECT_EQ(NoticeScheduler::NextDailyRun(kNow - 2 * kHour, nine, china), kNow - kHour);
  EXPECT_EQ(NoticeScheduler::NextDailyRun(kNow - kHour, nine, china), kNow + 23 * kHour);
  // In UTC, 09:00 is 17:00 in China.
  EXPECT_EQ(NoticeScheduler::NextDailyRun(kNow, nine, LocalCalendar(0)), kNow + 7 * kHour);
}

}  // namespace
}  // namespace vigil::server
