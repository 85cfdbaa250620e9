#include "engine/server/vigil_server.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/core/stable_hash.h"
#include "engine/rules/rule_set.h"
#include "engine/server/system_clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace vigil::server {

absl::StatusOr<std::unique_ptr<VigilServer>> VigilServer::Start(const ServerOptions& options) {
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(options.rules_dir);
  if (!policy.ok()) return policy.status();

  std::unique_ptr<VigilServer> server(new VigilServer());
  const Clock* clock = options.clock;
  if (clock == nullptr) {
    server->own_clock_ = std::make_unique<SystemClock>();
    clock = server->own_clock_.get();
  }
  server->clock_ = clock;
  EngineOptions engine_options;
  engine_options.trust_client_time = options.trust_client_time;
  engine_options.id_seed = std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32);
  std::optional<RestoredState> restored;
  if (!options.data_dir.empty()) {
    const absl::Time began = absl::Now();
    store::StoreOptions store_options;
    store_options.path = options.data_dir;
    store_options.sync = options.fsync;
    store_options.env = options.store_env;
    absl::StatusOr<std::unique_ptr<store::RocksDbStore>> opened =
        store::RocksDbStore::Open(store_options);
    if (!opened.ok()) return opened.status();
    server->store_ = *std::move(opened);
    absl::StatusOr<RestoredState> loaded = server->store_->Load();
    if (!loaded.ok()) return loaded.status();
    restored = *std::move(loaded);
    server->recovery_.users = restored->users.size();
    server->recovery_.transactions = restored->transactions.size();
    server->recovery_.took = absl::Now() - began;
    engine_options.journal = server->store_.get();
  }
  server->engine_ = std::make_unique<Engine>(*std::move(policy), clock, engine_options);
  if (restored.has_value()) {
    const absl::Time began = absl::Now();
    if (absl::Status status = server->engine_->Restore(*restored); !status.ok()) {
      return absl::DataLossError(absl::StrCat("the store cannot be restored: ", status.message()));
    }
    server->recovery_.took += absl::Now() - began;
  }
  server->audit_ = std::make_unique<AuditService>(server->store_.get());
  server->risk_engine_ = std::make_unique<RiskEngineService>(server->engine_.get());
  server->mandates_ = std::make_unique<MandatesService>(server->engine_.get());
  server->users_ = std::make_unique<UsersService>(server->engine_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &server->port_);
  builder.RegisterService(server->risk_engine_.get());
  builder.RegisterService(server->mandates_.get());
  builder.RegisterService(server->users_.get());
  builder.RegisterService(server->audit_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  server->server_->GetHealthCheckService()->SetServingStatus(true);
  server->rules_dir_ = options.rules_dir;
  if (options.rules_poll_interval > absl::ZeroDuration()) {
    server->watcher_ =
        std::thread(&VigilServer::WatchRules, server.get(), options.rules_poll_interval);
  }
  if (options.sweep_interval > absl::ZeroDuration()) {
    server->sweeper_ = std::thread(&VigilServer::Sweep, server.get(), options);
  }
  return server;
}

void VigilServer::Sweep(const ServerOptions& options) {
  // One pass over the idempotency records each interval, spread over the interval in
  // kSweepSteps steps of a part each: a pass in one go would keep a core for about 20 ms per
  // million records, and the calls queued behind it would wait that long.
  constexpr size_t kSweepSteps = 1024;
  size_t step = 0;
  while (!stopping_.WaitForNotificationWithTimeout(options.sweep_interval / kSweepSteps)) {
    const int64_t now_ms = clock_->NowMs();
    const absl::StatusOr<size_t> expired = engine_->ExpireTransactions(
        now_ms - absl::ToInt64Milliseconds(options.idempotency_retention), step, kSweepSteps);
    if (!expired.ok()) {
      std::fprintf(stderr, "vigild: cannot expire idempotency records: %s\n",
                   expired.status().ToString().c_str());
    }
    step = (step + 1) % kSweepSteps;
    if (step == 0 && store_ != nullptr) {
      const absl::Status trimmed = store_->DeleteDecisionsBefore(
          now_ms - absl::ToInt64Milliseconds(options.decision_log_retention));
      if (!trimmed.ok()) {
        std::fprintf(stderr, "vigild: cannot trim the decision log: %s\n",
                     trimmed.ToString().c_str());
      }
    }
  }
}

VigilServer::~VigilServer() {
  Shutdown(absl::ZeroDuration());
  if (watcher_.joinable()) watcher_.join();
  if (sweeper_.joinable()) sweeper_.join();
}

absl::Status VigilServer::ReloadRules() {
  absl::MutexLock lock(&reload_mu_);
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(rules_dir_);
  if (!policy.ok()) {
    ++reload_counts_.failed;
    std::fprintf(stderr, "vigild: rules in %s NOT reloaded; still serving %s:\n%s\n",
                 rules_dir_.c_str(), rules_version().c_str(),
                 std::string(policy.status().message()).c_str());
    return policy.status();
  }
  engine_->SetPolicy(*std::move(policy));
  ++reload_counts_.succeeded;
  std::fprintf(stderr, "vigild: rules reloaded from %s, version %s\n", rules_dir_.c_str(),
               rules_version().c_str());
  return absl::OkStatus();
}

VigilServer::ReloadCounts VigilServer::reload_counts() const {
  absl::MutexLock lock(&reload_mu_);
  return reload_counts_;
}

void VigilServer::WatchRules(absl::Duration interval) {
  // Content, not modification times: an edit within the same second still counts.
  auto fingerprint = [this] {
    std::string content;
    std::error_code error;
    std::vector<std::filesystem::path> paths;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(rules_dir_, error)) {
      // Rule tests (rules/tests/) are not part of the rule set.
      if (entry.is_regular_file() && entry.path().parent_path().filename() != "tests") {
        paths.push_back(entry.path());
      }
    }
    std::sort(paths.begin(), paths.end());
    for (const auto& path : paths) {
      std::ifstream file(path, std::ios::binary);
      std::ostringstream text;
      text << file.rdbuf();
      absl::StrAppend(&content, path.string(), "\n", text.str());
    }
    return StableHash(content);
  };
  uint64_t seen = fingerprint();
  while (!stopping_.WaitForNotificationWithTimeout(interval)) {
    const uint64_t now = fingerprint();
    if (now == seen) continue;
    seen = now;
    (void)ReloadRules();
  }
}

std::string VigilServer::rules_version() const { return std::string(engine_->policy()->version()); }

void VigilServer::Shutdown(absl::Duration grace) {
  if (!stopping_.HasBeenNotified()) stopping_.Notify();
  if (server_ == nullptr) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void VigilServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace vigil::server
