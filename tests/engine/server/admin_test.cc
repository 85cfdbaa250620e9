// vigild's admin HTTP server as an operator and Prometheus see it: counters read after known
// calls, the exposition checked by promtool, health and readiness through a shutdown, and the
// loaded rules as JSON.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "engine/core/clock.h"
#include "engine/server/vigil_server.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "tests/engine/server/http_get.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {
namespace {

using ::testing::HasSubstr;
using vigil::testing::HttpGet;

constexpr int64_t kNow = 1'795'000'000'000;

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.admin_listen = "127.0.0.1:0";
    options.rules_dir = VIGIL_RULES_DIR;
    options.clock = &clock_;
    options.sweep_interval = absl::ZeroDuration();
    options.rules_poll_interval = absl::ZeroDuration();
    absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                       grpc::InsecureChannelCredentials());
    risk_ = v1::RiskEngine::NewStub(channel);
    mandates_ = v1::Mandates::NewStub(channel);
  }

  void Grant(const std::string& user) {
    v1::GrantMandateRequest request;
    request.set_user_id(user);
    request.set_merchant_id("coffee");
    request.mutable_consent()->set_explicit_opt_in(true);
    request.mutable_consent()->set_terms_version("2026-01");
    request.mutable_consent()->set_consented_at_ms(kNow - 1000);
    grpc::ClientContext context;
    v1::Mandate mandate;
    ASSERT_TRUE(mandates_->GrantMandate(&context, request, &mandate).ok());
  }

  v1::Decision Charge(const std::string& txn, int64_t amount_minor) {
    v1::AuthorizeRequest request;
    request.set_transaction_id(txn);
    request.set_user_id("alice");
    request.set_merchant_id("coffee");
    request.set_amount_minor(amount_minor);
    request.set_currency("CNY");
    grpc::ClientContext context;
    v1::AuthorizeResponse response;
    const grpc::Status status = risk_->Authorize(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.decision();
  }

  std::string Metrics() {
    const vigil::testing::HttpReply reply = HttpGet(server_->admin_port(), "/metrics");
    EXPECT_EQ(reply.status, 200);
    EXPECT_THAT(reply.content_type, HasSubstr("text/plain; version=0.0.4"));
    return reply.body;
  }

  FakeClock clock_{kNow};
  std::unique_ptr<VigilServer> server_;
  std::unique_ptr<v1::RiskEngine::Stub> risk_;
  std::unique_ptr<v1::Mandates::Stub> mandates_;
};

TEST_F(AdminTest, CountersAfterOneApprovalAndOneChallengeByThePerTransactionCap) {
  Grant("alice");
  ASSERT_EQ(Charge("t-1", 2550), v1::APPROVE);
  ASSERT_EQ(Charge("t-2", 120000), v1::CHALLENGE);  // 1,200 CNY, above the 1,000 CNY cap
  ASSERT_EQ(Charge("t-2", 120000), v1::CHALLENGE);  // a retry is answered, not decided again
  const std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("vigil_authorize_total{decision=\"APPROVE\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("vigil_authorize_total{decision=\"CHALLENGE\"} 2\n"));
  EXPECT_THAT(metrics, HasSubstr("vigil_authorize_total{decision=\"DECLINE\"} 0\n"));
  EXPECT_THAT(metrics,
              HasSubstr("vigil_rule_hits_total{rule_id=\"limits.per_txn\",mode=\"enforce\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("vigil_authorize_duration_seconds_count 3\n"));
  EXPECT_THAT(metrics, HasSubstr("vigil_rejected_total{reason=\"overload\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("vigil_rejected_total{reason=\"deadline\"} 0\n"));
  EXPECT_THAT(metrics, HasSubstr("vigil_records{kind=\"users\"} 1\n"));
  EXPECT_THAT(metrics, HasSubstr("vigil_records{kind=\"idempotency\"} 2\n"));
  EXPECT_THAT(metrics, HasSubstr(absl::StrCat("vigil_rules_info{version=\"",
                                              server_->rules_version(), "\"} 1\n")));
}

TEST_F(AdminTest, PromtoolAcceptsAScrapeTakenAfterTraffic) {
  Grant("alice");
  Charge("t-1", 2550);
  Charge("t-2", 120000);
  ASSERT_TRUE(server_->ReloadRules().ok());
  const std::string metrics = Metrics();
  EXPECT_THAT(metrics, HasSubstr("vigil_rules_reloads_total{result=\"ok\"} 1\n"));
  const std::string path = absl::StrCat(::testing::TempDir(), "/scrape-", ::getpid(), ".txt");
  std::ofstream(path) << metrics;
  const std::string command = absl::StrCat("promtool check metrics < ", path, " 2>&1");
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
  EXPECT_EQ(::pclose(pipe), 0) << "promtool check metrics:\n" << output;
}

TEST_F(AdminTest, RulesAreServedAsJsonWithTheirHits) {
  Grant("alice");
  Charge("t-2", 120000);
  const vigil::testing::HttpReply reply = HttpGet(server_->admin_port(), "/rules");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "application/json");
  google::protobuf::Struct rules;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(reply.body, &rules).ok()) << reply.body;
  EXPECT_EQ(rules.fields().at("version").string_value(), server_->rules_version());
  bool found = false;
  for (const google::protobuf::Value& rule : rules.fields().at("rules").list_value().values()) {
    const auto& fields = rule.struct_value().fields();
    EXPECT_THAT(fields.at("mode").string_value(), ::testing::AnyOf("enforce", "shadow"));
    if (fields.at("id").string_value() != "limits.per_txn") continue;
    found = true;
    EXPECT_EQ(fields.at("action").string_value(), "CHALLENGE");
    EXPECT_EQ(fields.at("code").string_value(), "PER_TXN_LIMIT");
    EXPECT_EQ(fields.at("hits").number_value(), 1);
  }
  EXPECT_TRUE(found) << reply.body;
}

TEST_F(AdminTest, ReadyUntilShutdownThenDrainingWhileHealthyStill) {
  EXPECT_EQ(HttpGet(server_->admin_port(), "/readyz").status, 200);
  EXPECT_EQ(HttpGet(server_->admin_port(), "/healthz").status, 200);
  server_->Shutdown(absl::ZeroDuration());
  EXPECT_EQ(HttpGet(server_->admin_port(), "/readyz").status, 503);
  EXPECT_EQ(HttpGet(server_->admin_port(), "/healthz").status, 200);
}

TEST_F(AdminTest, UnknownPathsAndOtherMethodsAreRefused) {
  EXPECT_EQ(HttpGet(server_->admin_port(), "/nope").status, 404);
  EXPECT_EQ(HttpGet(server_->admin_port(), "/metrics", "POST").status, 405);
  // A query string does not change the page.
  EXPECT_EQ(HttpGet(server_->admin_port(), "/healthz?verbose=1").status, 200);
}

}  // namespace
}  // namespace vigil::server
