// Bounded work under overload: Authorize calls beyond --max-inflight are refused at once and
// change nothing, Mandates and Users calls keep a capacity of their own, and a call whose
// deadline has passed is not decided. The store's disk is stalled (its syncs wait) so that calls
// stay in flight for as long as the test needs, with no timing involved.

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "engine/core/clock.h"
#include "engine/server/admission.h"
#include "engine/server/metrics.h"
#include "engine/server/vigil_server.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/engine/store/full_disk.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kNow = 1'795'000'000'000;

v1::AuthorizeRequest Charge(const std::string& txn) {
  v1::AuthorizeRequest request;
  request.set_transaction_id(txn);
  request.set_user_id(absl::StrCat("user-", txn));
  request.set_merchant_id("coffee");
  request.set_amount_minor(100);
  request.set_currency("CNY");
  return request;
}

TEST(OverloadTest, AuthorizeBeyondMaxInflightIsRefusedAtOnceAndChangesNothing) {
  store::FullDisk disk;
  FakeClock clock(kNow);
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.rules_dir = VIGIL_RULES_DIR;
  options.clock = &clock;
  options.data_dir = absl::StrCat(::testing::TempDir(), "/overload-", ::getpid());
  std::filesystem::remove_all(options.data_dir);
  options.store_env = disk.env();
  options.fsync = true;
  options.sweep_interval = absl::ZeroDuration();
  options.rules_poll_interval = absl::ZeroDuration();
  options.max_inflight = 2;
  options.max_inflight_users = 1;
  absl::StatusOr<std::unique_ptr<VigilServer>> started = VigilServer::Start(options);
  ASSERT_TRUE(started.ok()) << started.status();
  VigilServer& server = **started;
  auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server.port()),
                                     grpc::InsecureChannelCredentials());
  auto risk = v1::RiskEngine::NewStub(channel);
  auto users = v1::Users::NewStub(channel);

  // Two charges wait for a disk that does not sync: both are in progress.
  disk.SetStalled(true);
  struct Pending {
    grpc::ClientContext context;
    v1::AuthorizeRequest request;
    v1::AuthorizeResponse response;
    grpc::Status status;
    absl::Notification done;
  } pending[2];
  for (int i = 0; i < 2; ++i) {
    pending[i].request = Charge(absl::StrCat("t-wait-", i));
    risk->async()->Authorize(&pending[i].context, &pending[i].request, &pending[i].response,
                             [&, i](grpc::Status status) {
                               pending[i].status = std::move(status);
                               pending[i].done.Notify();
                             });
  }
  // Admitted, and decided: a call counts as in progress before its change is appended.
  for (int i = 0;
       i < 500 && (server.authorize_in_flight() < 2 || server.store()->LastSequence() < 2); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(server.authorize_in_flight(), 2);
  const uint64_t changes = server.store()->LastSequence();
  ASSERT_EQ(changes, 2u);

  // A third is refused at once, and leaves no trace: not remembered, nothing appended.
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::AuthorizeResponse response;
    const grpc::Status status = risk->Authorize(&context, Charge("t-refused"), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(status.error_message(), HasSubstr("--max-inflight"));
  }
  EXPECT_EQ(server.store()->LastSequence(), changes);
  EXPECT_EQ(server.engine().CountRecords().transactions, 2u);
  EXPECT_THAT(server.MetricsText(), HasSubstr("vigil_rejected_total{reason=\"overload\"} 1\n"));

  // Mandates and Users calls have capacity of their own: a read is answered meanwhile.
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::GetUserProfileRequest request;
    request.set_user_id("nobody");
    v1::UserProfile profile;
    EXPECT_EQ(users->GetUserProfile(&context, request, &profile).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }

  disk.SetStalled(false);
  for (Pending& call : pending) {
    call.done.WaitForNotification();
    EXPECT_TRUE(call.status.ok()) << call.status.error_message();
  }
  EXPECT_EQ(server.authorize_in_flight(), 0);
}

TEST(AdmitAuthorizeTest, ACallPastItsDeadlineIsNotDecided) {
  Admission admission(4);
  ServerMetrics metrics;
  const auto now = std::chrono::system_clock::now();
  const absl::Status late =
      AdmitAuthorize(admission, metrics, now - std::chrono::milliseconds(1), now);
  EXPECT_EQ(late.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(admission.in_flight(), 0) << "a refused call holds no place";
  EXPECT_EQ(metrics.rejected.Sum(ServerMetrics::kDeadline), 1u);
  EXPECT_EQ(metrics.rejected.Sum(ServerMetrics::kOverload), 0u);
  EXPECT_TRUE(AdmitAuthorize(admission, metrics, now + std::chrono::seconds(1), now).ok());
  EXPECT_EQ(admission.in_flight(), 1);
}

TEST(AdmitAuthorizeTest, ACallBeyondTheLimitIsRefusedUntilOneLeaves) {
  Admission admission(2);
  ServerMetrics metrics;
  const auto now = std::chrono::system_clock::now();
  const auto deadline = std::chrono::system_clock::time_point::max();  // a call without one
  ASSERT_TRUE(AdmitAuthorize(admission, metrics, deadline, now).ok());
  ASSERT_TRUE(AdmitAuthorize(admission, metrics, deadline, now).ok());
  EXPECT_EQ(AdmitAuthorize(admission, metrics, deadline, now).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(admission.in_flight(), 2);
  admission.Leave();
  EXPECT_TRUE(AdmitAuthorize(admission, metrics, deadline, now).ok());
  EXPECT_EQ(metrics.rejected.Sum(ServerMetrics::kOverload), 1u);
}

}  // namespace
}  // namespace vigil::server
