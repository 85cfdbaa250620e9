// The console's JSON and its one change of state, against an in-process VigilServer. (The page
// itself is tested in a browser: tests/console/console_test.py.)

#include "engine/server/console.h"

#include <openssl/evp.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/server/vigil_server.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/engine/server/http_get.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using vigil::testing::HttpGet;
using vigil::testing::HttpReply;
using vigil::testing::HttpRequest;

constexpr int64_t kNow = 1'795'000'000'000;
constexpr char kToken[] = "s3cret-support-token";

std::string Sha256Hex(const std::string& text) {
  unsigned char digest[32];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), size));
}

class ConsoleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Each test its own directory: ctest runs them side by side.
    dir_ = fs::path(::testing::TempDir()) /
           absl::StrCat("console_test_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    std::ofstream(dir_ / "tokens") << "# support\n"
                                   << Sha256Hex(kToken) << " spiffe://vigil/support\n";
  }

  void Start(bool with_tokens = true) {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.admin_listen = "127.0.0.1:0";
    options.rules_dir = VIGIL_RULES_DIR;
    options.data_dir = (dir_ / "data").string();
    options.clock = &clock_;
    options.sweep_interval = absl::ZeroDuration();
    options.rules_poll_interval = absl::ZeroDuration();
    if (with_tokens) options.console_tokens_file = (dir_ / "tokens").string();
    absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                       grpc::InsecureChannelCredentials());
    risk_ = v1::RiskEngine::NewStub(channel);
    mandates_ = v1::Mandates::NewStub(channel);

    v1::GrantMandateRequest grant;
    grant.set_user_id("alice");
    grant.set_merchant_id("coffee");
    grant.mutable_consent()->set_explicit_opt_in(true);
    grant.mutable_consent()->set_terms_version("2026-01");
    grant.mutable_consent()->set_consented_at_ms(kNow - 1000);
    grpc::ClientContext context;
    v1::Mandate mandate;
    ASSERT_TRUE(mandates_->GrantMandate(&context, grant, &mandate).ok());
    mandate_id_ = mandate.mandate_id();
  }

  v1::AuthorizeResponse Charge(const std::string& txn, int64_t amount_minor) {
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
    return response;
  }

  json Get(const std::string& path) {
    const HttpReply reply = HttpGet(server_->admin_port(), path);
    EXPECT_EQ(reply.status, 200) << path << ": " << reply.body;
    EXPECT_EQ(reply.content_type, "application/json");
    return json::parse(reply.body, nullptr, false);
  }

  HttpReply Revoke(const std::string& authorization, const std::string& mandate_id) {
    return HttpRequest(server_->admin_port(), "POST", "/api/revoke",
                       json{{"user_id", "alice"}, {"mandate_id", mandate_id}}.dump(),
                       authorization);
  }

  fs::path dir_;
  FakeClock clock_{kNow};
  std::unique_ptr<VigilServer> server_;
  std::unique_ptr<v1::RiskEngine::Stub> risk_;
  std::unique_ptr<v1::Mandates::Stub> mandates_;
  std::string mandate_id_;
};

TEST_F(ConsoleTest, TheOverviewCountsTheDecisionsAndTheirReasonCodes) {
  Start();
  EXPECT_EQ(Charge("small", 1000).decision(), v1::APPROVE);
  EXPECT_EQ(Charge("large", 150000).decision(), v1::CHALLENGE);
  const json overview = Get("/api/overview");
  EXPECT_EQ(overview["totals"], (json{{"APPROVE", 1}, {"CHALLENGE", 1}, {"DECLINE", 0}}));
  ASSERT_FALSE(overview["top_reasons"].empty());
  EXPECT_EQ(overview["top_reasons"][0],
            (json{{"code", "PER_TXN_LIMIT"}, {"enforced", 1}, {"shadow", 0}}));
  EXPECT_EQ(overview["series"]["t"].size(), overview["series"]["APPROVE"].size());
}

TEST_F(ConsoleTest, TheUserViewShowsMandatesAndRecentDecisionsNewestFirst) {
  Start();
  Charge("first", 1000);
  clock_.AdvanceMs(60'000);
  Charge("second", 150000);
  const json user = Get("/api/users/alice");
  ASSERT_EQ(user["mandates"].size(), 1u);
  EXPECT_EQ(user["mandates"][0]["mandate_id"], mandate_id_);
  EXPECT_EQ(user["mandates"][0]["status"], "ACTIVE");
  EXPECT_EQ(user["mandates"][0]["last_used_at_ms"], kNow);
  EXPECT_EQ(user["limits"]["segment"], "standard");
  ASSERT_EQ(user["decisions"].size(), 2u);
  EXPECT_EQ(user["decisions"][0]["transaction_id"], "second");
  EXPECT_EQ(user["decisions"][0]["reasons"][0]["code"], "PER_TXN_LIMIT");
  EXPECT_EQ(user["decisions"][1]["transaction_id"], "first");
  EXPECT_EQ(HttpGet(server_->admin_port(), "/api/users/").status, 400) << "no user id";
  EXPECT_EQ(HttpGet(server_->admin_port(), "/api/users/al%4").status, 400);
  EXPECT_EQ(Get("/api/users/%61lice")["mandates"].size(), 1u)
      << "%61 is 'a', as a browser sends it";
}

TEST_F(ConsoleTest, TheRulesAreShownAsWrittenWithTheirLoads) {
  Start();
  const json rules = Get("/api/rules");
  EXPECT_EQ(rules["version"], server_->rules_version());
  EXPECT_GT(rules["rules"].size(), 20u);
  EXPECT_FALSE(rules["rules"][0]["when"].get<std::string>().empty());
  EXPECT_FALSE(rules["params"].empty());
  EXPECT_FALSE(rules["lists"].empty());
  ASSERT_EQ(rules["loads"].size(), 1u);
  EXPECT_EQ(rules["loads"][0]["result"], "ok");
  EXPECT_TRUE(server_->ReloadRules().ok());
  EXPECT_EQ(Get("/api/rules")["loads"].size(), 2u);
}

TEST_F(ConsoleTest, ThePageAndItsChartingLibraryAreServedFromVigild) {
  Start();
  const HttpReply page = HttpGet(server_->admin_port(), "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.content_type, HasSubstr("text/html"));
  EXPECT_THAT(page.body, HasSubstr("<script src=\"/uplot.js\">"));
  const HttpReply uplot = HttpGet(server_->admin_port(), "/uplot.js");
  EXPECT_EQ(uplot.status, 200);
  EXPECT_THAT(uplot.body, HasSubstr("uPlot"));
  EXPECT_THAT(page.body, ::testing::Not(HasSubstr("http"))) << "nothing from elsewhere";
}

TEST_F(ConsoleTest, ARevocationNeedsAListedTokenAndIsThenSeenByAuthorize) {
  Start();
  const HttpReply none = Revoke("", mandate_id_);
  EXPECT_EQ(none.status, 401) << none.body;
  const HttpReply wrong = Revoke("Bearer not-the-token", mandate_id_);
  EXPECT_EQ(wrong.status, 401) << wrong.body;
  EXPECT_EQ(Charge("still-approved", 1000).decision(), v1::APPROVE)
      << "refused calls change nothing";

  EXPECT_EQ(Revoke(absl::StrCat("Bearer ", kToken), "mdt_unknown").status, 404);
  EXPECT_EQ(HttpRequest(server_->admin_port(), "POST", "/api/revoke", "{\"user_id\": 5}",
                        absl::StrCat("Bearer ", kToken))
                .status,
            400);
  const HttpReply done = Revoke(absl::StrCat("Bearer ", kToken), mandate_id_);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(json::parse(done.body)["status"], "REVOKED");
  const v1::AuthorizeResponse after = Charge("after-revoke", 1000);
  EXPECT_EQ(after.decision(), v1::CHALLENGE);
  ASSERT_GT(after.reasons_size(), 0);
  EXPECT_EQ(after.reasons(0).code(), "MANDATE_REVOKED");
}

TEST_F(ConsoleTest, WithoutATokensFileTheConsoleIsReadOnly) {
  Start(/*with_tokens=*/false);
  const HttpReply reply = Revoke(absl::StrCat("Bearer ", kToken), mandate_id_);
  EXPECT_EQ(reply.status, 403);
  EXPECT_THAT(reply.body, HasSubstr("read-only"));
  EXPECT_EQ(Charge("approved", 1000).decision(), v1::APPROVE);
}

TEST_F(ConsoleTest, AMalformedTokensFileStopsTheStartAndSaysWhere) {
  std::ofstream(dir_ / "tokens") << "# ok\nnot-a-digest spiffe://vigil/support\n";
  ServerOptions options;
  options.listen = "127.0.0.1:0";
  options.admin_listen = "127.0.0.1:0";
  options.rules_dir = VIGIL_RULES_DIR;
  options.rules_poll_interval = absl::ZeroDuration();
  options.sweep_interval = absl::ZeroDuration();
  options.console_tokens_file = (dir_ / "tokens").string();
  const absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(server.status().message(), HasSubstr("tokens:2: expected the SHA-256"));
}

}  // namespace
}  // namespace vigil::server
