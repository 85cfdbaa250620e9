// vigild with a data directory, over gRPC: a restart keeps what was acknowledged, and the
// decision log exports every Authorize and outcome in order.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/core/clock.h"
#include "engine/server/vigil_server.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kNow = 1'795'744'800'000;  // 2026-11-27 10:00 +08:00

class DurabilityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::temp_directory_path() / absl::StrCat("vigil-durability-", getpid(), "-",
                                                 ::testing::UnitTest::GetInstance()->random_seed());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void Start(bool with_store = true) {
    server_.reset();
    ServerOptions options;
    options.listen = "127.0.0.1:0";
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
    risk_ = v1::RiskEngine::NewStub(channel);
    mandates_ = v1::Mandates::NewStub(channel);
    audit_ = v1::Audit::NewStub(channel);
  }

  v1::AuthorizeResponse Charge(const std::string& txn, int64_t amount) {
    grpc::ClientContext context;
    v1::AuthorizeRequest request;
    request.set_transaction_id(txn);
    request.set_user_id("u");
    request.set_merchant_id("shop");
    request.set_amount_minor(amount);
    request.set_currency("CNY");
    v1::AuthorizeResponse response;
    EXPECT_TRUE(risk_->Authorize(&context, request, &response).ok());
    return response;
  }

  std::vector<v1::DecisionRecord> Export(int64_t since, int64_t until) {
    grpc::ClientContext context;
    v1::ExportDecisionsRequest request;
    request.set_since_ms(since);
    request.set_until_ms(until);
    auto reader = audit_->ExportDecisions(&context, request);
    std::vector<v1::DecisionRecord> records;
    v1::DecisionRecord record;
    while (reader->Read(&record)) records.push_back(record);
    last_status_ = reader->Finish();
    return records;
  }

  FakeClock clock_{kNow};
  fs::path dir_;
  std::unique_ptr<VigilServer> server_;
  std::unique_ptr<v1::RiskEngine::Stub> risk_;
  std::unique_ptr<v1::Mandates::Stub> mandates_;
  std::unique_ptr<v1::Audit::Stub> audit_;
  grpc::Status last_status_;
};

TEST_F(DurabilityTest, ARestartKeepsLimitsRevocationsAndAnswers) {
  Start();
  v1::GrantMandateRequest grant;
  grant.set_user_id("u");
  grant.set_merchant_id("shop");
  grant.mutable_consent()->set_explicit_opt_in(true);
  grant.mutable_consent()->set_terms_version("t");
  grant.mutable_consent()->set_consented_at_ms(kNow - 1000);
  v1::Mandate mandate;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(mandates_->GrantMandate(&context, grant, &mandate).ok());
  }
  const v1::AuthorizeResponse first = Charge("a", 100000);
  ASSERT_EQ(first.decision(), v1::APPROVE);
  ASSERT_EQ(Charge("b", 90000).decision(), v1::APPROVE);

  Start();  // a new server on the same directory
  EXPECT_EQ(server_->recovery().users, 1u);
  EXPECT_EQ(server_->recovery().transactions, 2u);
  const v1::AuthorizeResponse over = Charge("c", 20000);
  EXPECT_EQ(over.decision(), v1::CHALLENGE) << "1,900 of the 2,000 CNY daily cap were used";
  ASSERT_EQ(over.reasons_size(), 1);
  EXPECT_EQ(over.reasons(0).code(), "DAILY_LIMIT");
  EXPECT_EQ(Charge("a", 100000).SerializeAsString(), first.SerializeAsString());
  {
    grpc::ClientContext context;
    v1::RevokeAllMandatesRequest revoke;
    revoke.set_user_id("u");
    v1::RevokeAllMandatesResponse revoked;
    ASSERT_TRUE(mandates_->RevokeAllMandates(&context, revoke, &revoked).ok());
  }
  Start();
  const v1::AuthorizeResponse revoked = Charge("d", 100);
  EXPECT_EQ(revoked.decision(), v1::CHALLENGE);
  ASSERT_EQ(revoked.reasons_size(), 1);
  EXPECT_EQ(revoked.reasons(0).code(), "MANDATE_REVOKED");
  grpc::ClientContext context;
  v1::GetMandateRequest get;
  get.set_mandate_id(mandate.mandate_id());
  v1::Mandate after;
  ASSERT_TRUE(mandates_->GetMandate(&context, get, &after).ok());
  EXPECT_EQ(after.status(), v1::REVOKED);
}

TEST_F(DurabilityTest, TheDecisionLogHoldsEveryDecisionOutcomeAndGrantInOrder) {
  Start();
  v1::GrantMandateRequest grant;
  grant.set_user_id("u");
  grant.set_merchant_id("*");
  grant.mutable_consent()->set_explicit_opt_in(true);
  grant.mutable_consent()->set_terms_version("t");
  grant.mutable_consent()->set_consented_at_ms(kNow - 1000);
  v1::Mandate mandate;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(mandates_->GrantMandate(&context, grant, &mandate).ok());
  }
  Charge("early", 100);
  clock_.AdvanceMs(60'000);
  Charge("late", 150000);
  {
    grpc::ClientContext context;
    v1::ReportOutcomeRequest outcome;
    outcome.set_transaction_id("early");
    outcome.set_outcome(v1::REVERSED);
    v1::ReportOutcomeResponse response;
    ASSERT_TRUE(risk_->ReportOutcome(&context, outcome, &response).ok());
  }
  Start();  // the log is on disk, not in memory
  const std::vector<v1::DecisionRecord> all = Export(kNow, kNow + 3'600'000);
  ASSERT_TRUE(last_status_.ok()) << last_status_.error_message();
  ASSERT_EQ(all.size(), 4u);
  // The grant, first: replays need the mandate the charges were decided against.
  EXPECT_EQ(all[0].mandate().mandate_id(), mandate.mandate_id());
  EXPECT_EQ(all[0].mandate().status(), v1::ACTIVE);
  EXPECT_FALSE(all[0].has_request());
  EXPECT_EQ(all[1].transaction_id(), "early");
  EXPECT_EQ(all[1].request().amount_minor(), 100);
  EXPECT_EQ(all[1].response().decision(), v1::APPROVE);
  EXPECT_EQ(all[2].transaction_id(), "late");
  EXPECT_EQ(all[2].response().decision(), v1::CHALLENGE);
  EXPECT_EQ(all[2].response().reasons(0).code(), "PER_TXN_LIMIT");
  EXPECT_FALSE(all[2].response().rules_version().empty());
  EXPECT_EQ(all[3].transaction_id(), "early");
  EXPECT_EQ(all[3].outcome(), v1::REVERSED);
  const std::vector<v1::DecisionRecord> first_minute = Export(kNow, kNow + 60'000);
  ASSERT_EQ(first_minute.size(), 2u);
  EXPECT_EQ(first_minute[1].transaction_id(), "early");
}

TEST_F(DurabilityTest, WithoutADataDirectoryThereIsNoLog) {
  Start(/*with_store=*/false);
  Export(0, kNow);
  EXPECT_EQ(last_status_.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

}  // namespace
}  // namespace vigil::server
