// Hot reload under load: a broken rule file changes nothing, a good one changes the next
// decision, and no call in flight fails either way.

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "engine/server/vigil_server.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

void Write(const fs::path& path, const std::string& text) {
  // Write then rename, as a deploy would, so that the watcher never sees half a file.
  const fs::path temporary = path.string() + ".tmp";
  std::ofstream(temporary) << text;
  fs::rename(temporary, path);
}

class ReloadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           absl::StrCat("vigil-reload-", ::testing::UnitTest::GetInstance()->random_seed(), "-",
                        getpid());
    fs::remove_all(dir_);
    fs::copy(VIGIL_RULES_DIR, dir_, fs::copy_options::recursive);
    original_ = Read(dir_ / "policy.yaml");
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void Start(absl::Duration poll) {
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    options.rules_dir = dir_.string();
    options.rules_poll_interval = poll;
    absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    stub_ = v1::RiskEngine::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                                        grpc::InsecureChannelCredentials()));
    v1::GrantMandateRequest grant;
    grant.set_user_id("u");
    grant.set_merchant_id("*");
    grant.mutable_consent()->set_explicit_opt_in(true);
    grant.mutable_consent()->set_terms_version("t");
    grant.mutable_consent()->set_consented_at_ms(absl::ToUnixMillis(absl::Now()) - 1000);
    grpc::ClientContext context;
    v1::Mandate mandate;
    ASSERT_TRUE(
        v1::Mandates::NewStub(grpc::CreateChannel(absl::StrCat("127.0.0.1:", server_->port()),
                                                  grpc::InsecureChannelCredentials()))
            ->GrantMandate(&context, grant, &mandate)
            .ok());
  }

  // 60 CNY for user "u": approved by the shipped rules.
  v1::AuthorizeResponse Charge(const std::string& user = "u") {
    grpc::ClientContext context;
    v1::AuthorizeRequest request;
    request.set_transaction_id(absl::StrCat("t", next_.fetch_add(1), "-", user));
    request.set_user_id(user);
    request.set_merchant_id("shop");
    request.set_amount_minor(6000);
    request.set_currency("CNY");
    v1::AuthorizeResponse response;
    last_status_ = stub_->Authorize(&context, request, &response);
    return response;
  }

  // Authorize calls from several threads until stopped; counts failed calls.
  class Load {
   public:
    explicit Load(ReloadTest* test) {
      for (int t = 0; t < 4; ++t) {
        threads_.emplace_back([this, test, t] {
          auto stub = v1::RiskEngine::NewStub(
              grpc::CreateChannel(absl::StrCat("127.0.0.1:", test->server_->port()),
                                  grpc::InsecureChannelCredentials()));
          for (int i = 0; !stop_.load(); ++i) {
            grpc::ClientContext context;
            v1::AuthorizeRequest request;
            request.set_transaction_id(absl::StrCat("load-", t, "-", i));
            request.set_user_id(absl::StrCat("load-user-", t, "-", i % 50));
            request.set_merchant_id("shop");
            request.set_amount_minor(100);
            request.set_currency("CNY");
            v1::AuthorizeResponse response;
            if (!stub->Authorize(&context, request, &response).ok()) failed_.fetch_add(1);
            calls_.fetch_add(1);
          }
        });
      }
    }
    // Waits (at most 10 s) until the load has made `more` calls since this was called, so that
    // a reload happens while calls are running.
    void Run(int more) {
      const int target = calls_.load() + more;
      const absl::Time deadline = absl::Now() + absl::Seconds(10);
      while (calls_.load() < target && absl::Now() < deadline)
        absl::SleepFor(absl::Milliseconds(1));
    }
    // Stops the load and returns {calls, failed}.
    std::pair<int, int> Stop() {
      stop_ = true;
      for (std::thread& thread : threads_) thread.join();
      return {calls_.load(), failed_.load()};
    }

   private:
    std::atomic<bool> stop_{false};
    std::atomic<int> calls_{0};
    std::atomic<int> failed_{0};
    std::vector<std::thread> threads_;
  };

  fs::path dir_;
  std::string original_;
  std::unique_ptr<VigilServer> server_;
  std::unique_ptr<v1::RiskEngine::Stub> stub_;
  grpc::Status last_status_;
  std::atomic<int> next_{0};
};

TEST_F(ReloadTest, BrokenRulesKeepTheOldVersionServingUnderLoad) {
  Start(absl::ZeroDuration());
  const std::string version = Charge().rules_version();
  Load load(this);
  load.Run(200);
  Write(dir_ / "policy.yaml", absl::StrReplaceAll(original_, {{"txn.amount > user.per_txn_cap",
                                                               "txn.amount > user.per_txn_capp"}}));
  const absl::Status reload = server_->ReloadRules();
  EXPECT_EQ(reload.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(reload.message()), ::testing::HasSubstr("policy.yaml:"));
  EXPECT_THAT(std::string(reload.message()), ::testing::HasSubstr("user.per_txn_capp"));
  const v1::AuthorizeResponse after = Charge();
  load.Run(200);
  const auto [calls, failed] = load.Stop();
  EXPECT_TRUE(last_status_.ok());
  EXPECT_EQ(after.rules_version(), version);
  EXPECT_EQ(after.decision(), v1::APPROVE);
  EXPECT_GE(calls, 400);
  EXPECT_EQ(failed, 0);
  EXPECT_EQ(server_->reload_counts().failed, 1u);
}

TEST_F(ReloadTest, GoodRulesChangeTheVersionAndTheNextDecision) {
  Start(absl::ZeroDuration());
  const v1::AuthorizeResponse before = Charge();
  ASSERT_EQ(before.decision(), v1::APPROVE);
  Load load(this);
  load.Run(200);
  Write(dir_ / "policy.yaml", absl::StrReplaceAll(original_, {{"standard: {per_txn: 1000.00 CNY",
                                                               "standard: {per_txn: 50.00 CNY"}}));
  ASSERT_TRUE(server_->ReloadRules().ok());
  const v1::AuthorizeResponse after = Charge();
  load.Run(200);
  const auto [calls, failed] = load.Stop();
  EXPECT_NE(after.rules_version(), before.rules_version());
  EXPECT_EQ(after.decision(), v1::CHALLENGE);
  ASSERT_EQ(after.reasons_size(), 1);
  EXPECT_EQ(after.reasons(0).code(), "PER_TXN_LIMIT");
  EXPECT_EQ(failed, 0);
  EXPECT_GE(calls, 400);
}

TEST_F(ReloadTest, AChangedFileIsPickedUpWithoutASignal) {
  Start(absl::Milliseconds(20));
  const std::string version = Charge().rules_version();
  Write(dir_ / "lists" / "blocked_merchants.txt", "shop\n");
  // The watcher runs on its own thread: wait for it, at most 10 s.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  v1::AuthorizeResponse after = Charge();
  while (after.rules_version() == version && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    after = Charge();
  }
  EXPECT_NE(after.rules_version(), version);
  EXPECT_EQ(after.decision(), v1::DECLINE);
  ASSERT_GE(after.reasons_size(), 1);
  EXPECT_EQ(after.reasons(0).code(), "MERCHANT_BLOCKED");
}

}  // namespace
}  // namespace vigil::server
