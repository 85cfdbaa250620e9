// vigild behind mutual TLS and the shipped authorization policy (config/authz_policy.json), as
// gateways, app backends and risk teams reach it: certificates made by tools/make-certs.sh, real
// TLS handshakes over loopback, every RPC tried by every role.

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/core/clock.h"
#include "engine/net/tls_credentials.h"
#include "engine/server/vigil_server.h"
#include "gmock/gmock.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/engine/server/test_certs.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {
namespace {

using ::testing::HasSubstr;
using vigil::testing::MakeCerts;
using vigil::testing::ReadFile;
using vigil::testing::ReplaceFile;

constexpr int64_t kNow = 1'795'000'000'000;  // 2026-11-18

std::chrono::system_clock::time_point Soon() {
  return std::chrono::system_clock::now() + std::chrono::seconds(5);
}

class SecureServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new std::string(MakeCerts("ours"));
    other_ca_ = new std::string(MakeCerts("theirs"));
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete other_ca_;
  }

  void SetUp() override {
    data_dir_ = absl::StrCat(::testing::TempDir(), "/secure-", ::getpid(), "-",
                             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(data_dir_);
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.rules_dir = VIGIL_RULES_DIR;
    options.clock = &clock_;
    options.data_dir = data_dir_;
    options.fsync = false;
    options.sweep_interval = absl::ZeroDuration();
    options.rules_poll_interval = absl::ZeroDuration();
    options.tls = {*certs_ + "/server.pem", *certs_ + "/server.key", *certs_ + "/ca.pem"};
    options.authz_policy_file = absl::StrCat(VIGIL_SOURCE_DIR, "/config/authz_policy.json");
    absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
  }

  // A channel presenting `role`'s certificate from `dir` (empty role: no client certificate),
  // verifying the server against `trusted_ca`.
  std::shared_ptr<grpc::Channel> Channel(const std::string& role, const std::string& dir,
                                         const std::string& trusted_ca) {
    net::ClientTls tls;
    tls.ca_file = trusted_ca;
    if (!role.empty()) {
      tls.cert_file = dir + "/" + role + ".pem";
      tls.key_file = dir + "/" + role + ".key";
    }
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        net::MakeChannelCredentials(tls);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    grpc::ChannelArguments arguments;
    arguments.SetInt("vigil.test.fresh", next_channel_++);  // a connection of its own
    return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", server_->port()), *credentials,
                                     arguments);
  }
  std::shared_ptr<grpc::Channel> As(const std::string& role) {
    return Channel(role, *certs_, *certs_ + "/ca.pem");
  }

  static grpc::Status Health(const std::shared_ptr<grpc::Channel>& channel) {
    grpc::ClientContext context;
    context.set_deadline(Soon());
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    return grpc::health::v1::Health::NewStub(channel)->Check(&context, request, &response);
  }

  // What would move if any call changed state: every change is appended to the journal.
  uint64_t Changes() { return server_->store()->LastSequence(); }

  static std::string* certs_;
  static std::string* other_ca_;
  FakeClock clock_{kNow};
  std::string data_dir_;
  std::unique_ptr<VigilServer> server_;
  int next_channel_ = 0;
};

std::string* SecureServerTest::certs_ = nullptr;
std::string* SecureServerTest::other_ca_ = nullptr;

TEST_F(SecureServerTest, ServesAClientWhoseCertificateItsCaSigned) {
  EXPECT_TRUE(Health(As("gateway")).ok());
}

TEST_F(SecureServerTest, RefusesACertificateFromAnotherCa) {
  // A gateway certificate of the same name and SAN, but from a CA vigild does not trust.
  const std::shared_ptr<grpc::Channel> impostor =
      Channel("gateway", *other_ca_, *certs_ + "/ca.pem");
  const uint64_t before = Changes();
  grpc::ClientContext context;
  context.set_deadline(Soon());
  v1::AuthorizeRequest request;
  request.set_transaction_id("t-impostor");
  request.set_user_id("alice");
  request.set_merchant_id("coffee");
  request.set_amount_minor(100);
  request.set_currency("CNY");
  v1::AuthorizeResponse response;
  const grpc::Status status =
      v1::RiskEngine::NewStub(impostor)->Authorize(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
  EXPECT_EQ(Changes(), before);
  EXPECT_EQ(server_->engine().CountRecords().transactions, 0u);
}

TEST_F(SecureServerTest, ServesNothingToAClientWithoutACertificate) {
  const grpc::Status status = Health(Channel("", *certs_, *certs_ + "/ca.pem"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(SecureServerTest, ServesNothingInPlaintext) {
  const grpc::Status status = Health(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", server_->port()), grpc::InsecureChannelCredentials()));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE) << status.error_message();
}

TEST_F(SecureServerTest, EveryRpcAgainstEveryRole) {
  // State for the calls to act on, made by the roles allowed to.
  auto mandates = v1::Mandates::NewStub(As("app"));
  auto grant = [&](const std::string& user, const std::string& merchant) {
    v1::GrantMandateRequest request;
    request.set_user_id(user);
    request.set_merchant_id(merchant);
    request.mutable_consent()->set_explicit_opt_in(true);
    request.mutable_consent()->set_terms_version("2026-01");
    request.mutable_consent()->set_consented_at_ms(kNow - 1000);
    grpc::ClientContext context;
    context.set_deadline(Soon());
    v1::Mandate mandate;
    const grpc::Status status = mandates->GrantMandate(&context, request, &mandate);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return mandate.mandate_id();
  };
  const std::string mandate = grant("alice", "coffee");
  const std::string second = grant("alice", "books");
  {
    grpc::ClientContext context;
    context.set_deadline(Soon());
    v1::UserProfile profile, stored;
    profile.set_user_id("alice");
    profile.set_birth_date("1990-01-01");
    ASSERT_TRUE(v1::Users::NewStub(As("app"))->PutUserProfile(&context, profile, &stored).ok());
  }
  {
    grpc::ClientContext context;
    context.set_deadline(Soon());
    v1::AuthorizeRequest request;
    request.set_transaction_id("t-seed");
    request.set_user_id("alice");
    request.set_merchant_id("coffee");
    request.set_amount_minor(100);
    request.set_currency("CNY");
    v1::AuthorizeResponse response;
    ASSERT_TRUE(
        v1::RiskEngine::NewStub(As("gateway"))->Authorize(&context, request, &response).ok());
  }

  int serial = 0;
  using Call =
      std::function<grpc::Status(const std::shared_ptr<grpc::Channel>&, grpc::ClientContext*)>;
  struct Row {
    std::string rpc;
    std::vector<std::string> allowed;  // roles
    Call call;
  };
  // Each call is one that changes state when it is allowed to run (or reads, for the reads).
  const std::vector<Row> rows = {
      {"RiskEngine/Authorize",
       {"gateway"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::AuthorizeRequest request;
         request.set_transaction_id(absl::StrCat("t-", ++serial));
         request.set_user_id("alice");
         request.set_merchant_id("coffee");
         request.set_amount_minor(100);
         request.set_currency("CNY");
         v1::AuthorizeResponse response;
         return v1::RiskEngine::NewStub(channel)->Authorize(context, request, &response);
       }},
      {"RiskEngine/ReportOutcome",
       {"gateway"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::ReportOutcomeRequest request;
         request.set_transaction_id("t-seed");
         request.set_outcome(v1::STRONG_AUTH_FAILED);
         v1::ReportOutcomeResponse response;
         return v1::RiskEngine::NewStub(channel)->ReportOutcome(context, request, &response);
       }},
      {"Mandates/GrantMandate",
       {"app"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::GrantMandateRequest request;
         request.set_user_id("alice");
         request.set_merchant_id(absl::StrCat("shop-", ++serial));
         request.mutable_consent()->set_explicit_opt_in(true);
         request.mutable_consent()->set_terms_version("2026-01");
         request.mutable_consent()->set_consented_at_ms(kNow - 1000);
         v1::Mandate response;
         return v1::Mandates::NewStub(channel)->GrantMandate(context, request, &response);
       }},
      {"Mandates/GetMandate",
       {"app", "risk"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::GetMandateRequest request;
         request.set_mandate_id(mandate);
         v1::Mandate response;
         return v1::Mandates::NewStub(channel)->GetMandate(context, request, &response);
       }},
      {"Mandates/ListMandates",
       {"app", "risk"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::ListMandatesRequest request;
         request.set_user_id("alice");
         v1::ListMandatesResponse response;
         return v1::Mandates::NewStub(channel)->ListMandates(context, request, &response);
       }},
      {"Mandates/PauseMandate",
       {"app"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::PauseMandateRequest request;
         request.set_mandate_id(mandate);
         request.set_user_id("alice");
         v1::Mandate response;
         return v1::Mandates::NewStub(channel)->PauseMandate(context, request, &response);
       }},
      {"Mandates/ResumeMandate",
       {"app"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::ResumeMandateRequest request;
         request.set_mandate_id(mandate);
         request.set_user_id("alice");
         v1::Mandate response;
         return v1::Mandates::NewStub(channel)->ResumeMandate(context, request, &response);
       }},
      {"Mandates/RevokeMandate",
       {"app"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::RevokeMandateRequest request;
         request.set_mandate_id(second);
         request.set_user_id("alice");
         request.set_reason("test");
         v1::Mandate response;
         return v1::Mandates::NewStub(channel)->RevokeMandate(context, request, &response);
       }},
      {"Mandates/RevokeAllMandates",
       {"app"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::RevokeAllMandatesRequest request;
         request.set_user_id("alice");
         request.set_reason("test");
         v1::RevokeAllMandatesResponse response;
         return v1::Mandates::NewStub(channel)->RevokeAllMandates(context, request, &response);
       }},
      {"Users/PutUserProfile",
       {"app"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::UserProfile request, response;
         request.set_user_id("alice");
         request.set_birth_date(absl::StrCat(1970 + (++serial % 20), "-01-01"));
         return v1::Users::NewStub(channel)->PutUserProfile(context, request, &response);
       }},
      {"Users/GetUserProfile",
       {"app", "risk"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::GetUserProfileRequest request;
         request.set_user_id("alice");
         v1::UserProfile response;
         return v1::Users::NewStub(channel)->GetUserProfile(context, request, &response);
       }},
      {"Audit/ExportDecisions",
       {"risk"},
       [&](const auto& channel, grpc::ClientContext* context) {
         v1::ExportDecisionsRequest request;
         auto reader = v1::Audit::NewStub(channel)->ExportDecisions(context, request);
         v1::DecisionRecord record;
         while (reader->Read(&record)) {
         }
         return reader->Finish();
       }},
      {"grpc.health.v1.Health/Check",
       {"gateway", "app", "risk"},
       [&](const auto& channel, grpc::ClientContext* context) {
         grpc::health::v1::HealthCheckRequest request;
         grpc::health::v1::HealthCheckResponse response;
         return grpc::health::v1::Health::NewStub(channel)->Check(context, request, &response);
       }},
  };
  for (const std::string role : {"gateway", "app", "risk"}) {
    const std::shared_ptr<grpc::Channel> channel = As(role);
    for (const Row& row : rows) {
      SCOPED_TRACE(absl::StrCat(role, " calls ", row.rpc));
      const bool allowed =
          std::find(row.allowed.begin(), row.allowed.end(), role) != row.allowed.end();
      const uint64_t before = Changes();
      const Engine::RecordCounts records = server_->engine().CountRecords();
      grpc::ClientContext context;
      context.set_deadline(Soon());
      const grpc::Status status = row.call(channel, &context);
      if (allowed) {
        EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
      } else {
        EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
            << status.error_message();
        EXPECT_EQ(Changes(), before) << "a refused call changed state";
        EXPECT_EQ(server_->engine().CountRecords().transactions, records.transactions);
      }
    }
  }
}

TEST_F(SecureServerTest, RefusesUnsafeCombinationsAtStart) {
  ServerOptions options;
  options.rules_dir = VIGIL_RULES_DIR;
  options.clock = &clock_;
  options.listen = "0.0.0.0:0";
  EXPECT_THAT(VigilServer::Start(options).status().message(),
              HasSubstr("refusing to serve plaintext on 0.0.0.0:0"));
  options.listen = "127.0.0.1:0";
  options.authz_policy_file = absl::StrCat(VIGIL_SOURCE_DIR, "/config/authz_policy.json");
  EXPECT_THAT(VigilServer::Start(options).status().message(),
              HasSubstr("--authz-policy needs mutual TLS"));
  options.authz_policy_file.clear();
  options.tls = {*certs_ + "/server.pem", *certs_ + "/missing.key", ""};
  EXPECT_THAT(VigilServer::Start(options).status().message(), HasSubstr("missing.key"));
}

TEST(CertificateRotationTest, ANewServerCertificateOnDiskIsUsedWithoutRestart) {
  const std::string old_ca = MakeCerts("rotate-old");
  const std::string new_ca = MakeCerts("rotate-new");
  const std::string live = absl::StrCat(::testing::TempDir(), "/live-", ::getpid());
  std::filesystem::remove_all(live);
  std::filesystem::create_directories(live);
  for (const char* file : {"server.pem", "server.key"}) {
    std::filesystem::copy_file(old_ca + "/" + file, live + "/" + file);
  }
  FakeClock clock(kNow);
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.rules_dir = VIGIL_RULES_DIR;
  options.clock = &clock;
  options.sweep_interval = absl::ZeroDuration();
  options.rules_poll_interval = absl::ZeroDuration();
  options.tls = {live + "/server.pem", live + "/server.key", old_ca + "/ca.pem", absl::Seconds(1)};
  absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
  ASSERT_TRUE(server.ok()) << server.status();

  // A client that trusts only the new CA, with a client certificate vigild accepts.
  int attempt = 0;
  auto check = [&] {
    net::ClientTls tls{new_ca + "/ca.pem", old_ca + "/gateway.pem", old_ca + "/gateway.key"};
    grpc::ChannelArguments arguments;
    arguments.SetInt("vigil.test.fresh", ++attempt);
    auto channel = grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", (*server)->port()),
                                             *net::MakeChannelCredentials(tls), arguments);
    grpc::ClientContext context;
    context.set_deadline(Soon());
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    return grpc::health::v1::Health::NewStub(channel)->Check(&context, request, &response);
  };
  ASSERT_EQ(check().error_code(), grpc::StatusCode::UNAVAILABLE)
      << "the old certificate must not verify against the new CA";

  ReplaceFile(live + "/server.key", ReadFile(new_ca + "/server.key"));
  ReplaceFile(live + "/server.pem", ReadFile(new_ca + "/server.pem"));
  // The provider re-reads every second; allow it a generous number of turns.
  grpc::Status status = check();
  for (int i = 0; i < 100 && !status.ok(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = check();
  }
  EXPECT_TRUE(status.ok()) << "the rotated certificate was not used: " << status.error_message();
}

}  // namespace
}  // namespace vigil::server
