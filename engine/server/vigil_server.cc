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
#include "engine/core/shared_engine.h"
#include "engine/core/stable_hash.h"
#include "engine/core/vocabulary.h"
#include "engine/net/address.h"
#include "engine/rules/compiled_rule_set.h"
#include "engine/rules/rule_set.h"
#include "engine/server/log.h"
#include "engine/server/system_clock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/resource_quota.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "prometheus/metric_family.h"
#include "prometheus/text_serializer.h"
#include "vigil/v1/vigil.pb.h"

namespace vigil::server {
namespace {

// Whether the address HOST:PORT serves this machine only.
bool IsLoopback(absl::string_view listen) {
  const std::optional<net::HostPort> address = net::ParseHostPort(listen);
  return address.has_value() && net::IsLoopback(address->host);
}

// Refuses combinations that would serve less safely than the operator may think.
absl::Status CheckSecurity(const ServerOptions& options) {
  const bool tls = !options.tls.cert_file.empty() || !options.tls.key_file.empty();
  if (!tls && !options.tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (!options.authz_policy_file.empty() && options.tls.client_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--authz-policy needs mutual TLS (--tls-cert, --tls-key and --tls-client-ca): callers "
        "are known only by their client certificates");
  }
  if (!tls && !options.insecure && !IsLoopback(options.listen)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "refusing to serve plaintext on ", options.listen,
        ", which is not a loopback address: give --tls-cert and --tls-key (and --tls-client-ca "
        "for mutual TLS), or --insecure to accept it"));
  }
  if (!options.admin_listen.empty() && !options.insecure && !IsLoopback(options.admin_listen)) {
    return absl::InvalidArgumentError(
        absl::StrCat("refusing to serve admin HTTP (plaintext) on ", options.admin_listen,
                     ", which is not a loopback address: give --insecure to accept it"));
  }
  if (options.max_inflight <= 0 || options.max_inflight_users <= 0) {
    return absl::InvalidArgumentError("--max-inflight and --max-inflight-users must be above 0");
  }
  // Shorter, and notices would be deleted before a consumer had a chance to read them.
  if (options.notice_retention < absl::Hours(1) ||
      options.notice_check_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--notice-retention-h must be 1 or more, and --notice-check-s 0 or more");
  }
  return absl::OkStatus();
}

}  // namespace

class VigilServer::StoreObserver final : public store::WriteObserver {
 public:
  explicit StoreObserver(ServerMetrics* metrics) : metrics_(metrics) {}

  void OnBatchWritten(size_t changes, absl::Duration took) override {
    metrics_->journal_write_latency.Observe(absl::ToInt64Nanoseconds(took));
    metrics_->journal_batch_size.Observe(static_cast<int64_t>(changes));
  }
  void OnWriteFailed(const absl::Status& error) override {
    log::Error("store_write_failed",
               "cannot write the store; calls that change state are refused until it can")
        .Field("error", error.ToString());
  }
  void OnWriteRecovered() override {
    log::Info("store_write_recovered", "the store writes again; calls that change state resume");
  }

 private:
  ServerMetrics* const metrics_;
};

absl::StatusOr<std::unique_ptr<VigilServer>> VigilServer::Start(const ServerOptions& options) {
  if (absl::Status status = CheckSecurity(options); !status.ok()) return status;
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(options.rules_dir);
  if (!policy.ok()) return policy.status();

  std::unique_ptr<VigilServer> server(new VigilServer());
  server->store_observer_ = std::make_unique<StoreObserver>(&server->metrics_);
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
    absl::StatusOr<RestoredState> loaded = server->OpenStore(options);
    if (!loaded.ok()) return loaded.status();
    restored = *std::move(loaded);
    engine_options.journal = server->store_.get();
  }
  if (!options.redis_cluster.empty()) {
    const std::string holder = absl::StrCat(absl::Hex(engine_options.id_seed, absl::kZeroPad16));
    if (absl::Status status = server->OpenSharedState(options, holder); !status.ok()) {
      return status;
    }
    // The users are the cluster's; the store keeps this node's decision log only.
    restored.reset();
    std::unique_ptr<SharedEngine> shared = SharedEngine::Create(
        *std::move(policy), clock, engine_options, server->shared_state_.get());
    server->shared_engine_ = shared.get();
    server->engine_ = std::move(shared);
  } else {
    server->engine_ = Engine::Create(*std::move(policy), clock, engine_options);
  }
  {
    absl::MutexLock lock(&server->reload_mu_);
    server->RecordLoad(absl::OkStatus());
  }
  if (restored.has_value()) {
    const absl::Time began = absl::Now();
    if (absl::Status status = server->engine_->Restore(*restored); !status.ok()) {
      return absl::DataLossError(absl::StrCat("the store cannot be restored: ", status.message()));
    }
    server->recovery_.took += absl::Now() - began;
  }
  if (absl::Status status = server->StartGrpc(options); !status.ok()) return status;
  server->rules_dir_ = options.rules_dir;
  if (absl::Status status = server->StartBackground(options); !status.ok()) return status;
  return server;
}

absl::StatusOr<RestoredState> VigilServer::OpenStore(const ServerOptions& options) {
  const absl::Time began = absl::Now();
  store::StoreOptions store_options;
  store_options.path = options.data_dir;
  store_options.sync = options.fsync;
  store_options.env = options.store_env;
  store_options.observer = store_observer_.get();
  absl::StatusOr<std::unique_ptr<store::RocksDbStore>> opened =
      store::RocksDbStore::Open(store_options);
  if (!opened.ok()) return opened.status();
  store_ = *std::move(opened);
  absl::StatusOr<RestoredState> loaded = store_->Load();
  if (!loaded.ok()) return loaded.status();
  recovery_.users = loaded->users.size();
  recovery_.transactions = loaded->transactions.size();
  recovery_.took = absl::Now() - began;
  return loaded;
}

absl::Status VigilServer::OpenSharedState(const ServerOptions& options, const std::string& holder) {
  redis::ClusterOptions cluster_options;
  cluster_options.seeds = options.redis_cluster;
  absl::StatusOr<std::unique_ptr<redis::ClusterClient>> cluster =
      redis::ClusterClient::Connect(cluster_options);
  if (!cluster.ok()) {
    return absl::Status(cluster.status().code(),
                        absl::StrCat("--redis-cluster: ", cluster.status().message()));
  }
  cluster_ = *std::move(cluster);
  cluster = redis::ClusterClient::Connect(cluster_options);
  if (!cluster.ok()) {
    return absl::Status(cluster.status().code(),
                        absl::StrCat("--redis-cluster: ", cluster.status().message()));
  }
  background_cluster_ = *std::move(cluster);
  store::RedisNoticeOutbox::Options outbox_options;
  outbox_options.holder = holder;
  outbox_options.wait_replicas = options.redis_wait_replicas;
  outbox_options.on_relay_state = [](const absl::Status& status) {
    if (status.ok()) {
      log::Info("notice_relay_recovered", "notices are relayed to their consumers again");
    } else {
      log::Error("notice_relay_failed",
                 "cannot relay notices to their consumers; they wait in the cluster until it can")
          .Field("error", status.ToString());
    }
  };
  absl::StatusOr<std::unique_ptr<store::RedisNoticeOutbox>> outbox =
      store::RedisNoticeOutbox::Create(background_cluster_.get(), std::move(outbox_options));
  if (!outbox.ok()) {
    return absl::Status(outbox.status().code(),
                        absl::StrCat("--redis-cluster: ", outbox.status().message()));
  }
  notice_outbox_ = *std::move(outbox);
  store::RedisSharedStateOptions state_options;
  state_options.retention = options.idempotency_retention;
  state_options.wait_replicas = options.redis_wait_replicas;
  state_options.background = background_cluster_.get();
  state_options.outbox = notice_outbox_.get();
  absl::StatusOr<std::unique_ptr<store::RedisSharedState>> state =
      store::RedisSharedState::Create(cluster_.get(), state_options);
  if (!state.ok()) {
    return absl::Status(state.status().code(),
                        absl::StrCat("--redis-cluster: ", state.status().message()));
  }
  shared_state_ = *std::move(state);
  return absl::OkStatus();
}

absl::Status VigilServer::StartGrpc(const ServerOptions& options) {
  authorize_admission_ = std::make_unique<Admission>(options.max_inflight);
  users_admission_ = std::make_unique<Admission>(options.max_inflight_users);
  audit_ = std::make_unique<AuditService>(store_.get());
  notices_ = std::make_unique<NoticesService>(outbox());
  risk_engine_ =
      std::make_unique<RiskEngineService>(engine_.get(), authorize_admission_.get(), &metrics_);
  mandates_ = std::make_unique<MandatesService>(engine_.get(), users_admission_.get(), &metrics_);
  users_ = std::make_unique<UsersService>(engine_.get(), users_admission_.get(), &metrics_);

  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!options.tls.cert_file.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> tls =
        net::MakeServerCredentials(options.tls);
    if (!tls.ok()) return tls.status();
    credentials = *std::move(tls);
  }
  if (!options.authz_policy_file.empty()) {
    absl::StatusOr<std::shared_ptr<net::PolicyAuthorizer>> authorizer =
        net::PolicyAuthorizer::Create(options.authz_policy_file);
    if (!authorizer.ok()) return authorizer.status();
    authorizer_ = *std::move(authorizer);
    credentials->SetAuthMetadataProcessor(authorizer_);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  grpc::ResourceQuota quota("vigild");
  quota.Resize(static_cast<size_t>(options.transport_memory_bytes));
  builder.SetResourceQuota(quota);
  // No connection may hold more calls than Authorize admits; more wait at the client.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             options.max_inflight + options.max_inflight_users);
  builder.AddListeningPort(options.listen, credentials, &port_);
  builder.RegisterService(risk_engine_.get());
  builder.RegisterService(mandates_.get());
  builder.RegisterService(users_.get());
  builder.RegisterService(audit_.get());
  builder.RegisterService(notices_.get());
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  server_->GetHealthCheckService()->SetServingStatus(true);
  return absl::OkStatus();
}

absl::Status VigilServer::StartBackground(const ServerOptions& options) {
  loop_ = std::make_unique<EventLoop>();
  loop_->Every(absl::Seconds(1), [this] { WatchShedding(); });
  if (authorizer_ != nullptr && options.rules_poll_interval > absl::ZeroDuration()) {
    loop_->Every(options.rules_poll_interval, [this] { ReloadAuthzPolicy(); });
  }
  if (!options.admin_listen.empty()) {
    if (absl::Status status = StartAdmin(options); !status.ok()) {
      return status;
    }
  }
  if (options.rules_poll_interval > absl::ZeroDuration()) {
    watcher_ = std::thread(&VigilServer::WatchRules, this, options.rules_poll_interval);
  }
  if (options.sweep_interval > absl::ZeroDuration()) {
    sweeper_ = std::thread(&VigilServer::Sweep, this, options);
  }
  // On a Redis Cluster every node schedules the scans, and one at a time runs them.
  if (outbox() != nullptr) {
    scheduler_ = std::make_unique<NoticeScheduler>(*engine_, *outbox(), *clock_);
    if (options.notice_check_interval > absl::ZeroDuration()) {
      scheduler_->Start(options.notice_check_interval);
    }
  }
  return absl::OkStatus();
}

void VigilServer::ReloadAuthzPolicy() {
  const absl::StatusOr<bool> reloaded = authorizer_->ReloadIfChanged();
  if (!reloaded.ok()) {
    log::Error("authz_policy_not_reloaded",
               "the authorization policy did not load; the previous one stays in force")
        .Field("error", std::string(reloaded.status().message()));
  } else if (*reloaded) {
    log::Info("authz_policy_reloaded", "authorization policy reloaded")
        .Field("name", authorizer_->policy_name());
  }
}

absl::Status VigilServer::StartAdmin(const ServerOptions& options) {
  constexpr char kText[] = "text/plain; charset=utf-8";
  ConsoleSources sources;
  sources.engine = engine_.get();
  sources.log = store_.get();
  sources.metrics = &metrics_;
  sources.clock = clock_;
  sources.authorizer = authorizer_;
  sources.loads = [this] {
    absl::MutexLock lock(&reload_mu_);
    return std::vector<RulesLoad>(loads_.begin(), loads_.end());
  };
  absl::StatusOr<std::unique_ptr<Console>> console =
      Console::Create(std::move(sources),
                      ConsoleOptions{options.console_tokens_file, options.console_sample_interval});
  if (!console.ok()) return console.status();
  console_ = *std::move(console);
  loop_->Every(options.console_sample_interval, [this] { console_->Sample(); });

  using Request = AdminHttp::Request;
  AdminHttp::Routes routes;
  routes["/metrics"].get = [this](const Request&) {
    return AdminHttp::Reply{200, "text/plain; version=0.0.4; charset=utf-8", MetricsText()};
  };
  routes["/healthz"].get = [](const Request&) { return AdminHttp::Reply{200, kText, "ok\n"}; };
  routes["/readyz"].get = [this](const Request&) {
    return serving() ? AdminHttp::Reply{200, kText, "ready\n"}
                     : AdminHttp::Reply{503, kText, "draining\n"};
  };
  routes["/rules"].get = [this](const Request&) {
    return AdminHttp::Reply{200, "application/json", RulesJson()};
  };
  console_->AddRoutes(routes);
  absl::StatusOr<std::unique_ptr<AdminHttp>> admin =
      AdminHttp::Start(*loop_, options.admin_listen, std::move(routes));
  if (!admin.ok()) return admin.status();
  admin_ = *std::move(admin);
  return absl::OkStatus();
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
      log::Error("sweep_failed", "cannot expire idempotency records")
          .Field("error", expired.status().ToString());
    }
    step = (step + 1) % kSweepSteps;
    if (step == 0 && store_ != nullptr) {
      const absl::Status trimmed = store_->DeleteDecisionsBefore(
          now_ms - absl::ToInt64Milliseconds(options.decision_log_retention));
      if (!trimmed.ok()) {
        log::Error("sweep_failed", "cannot trim the decision log")
            .Field("error", trimmed.ToString());
      }
    }
    if (step == 0 && outbox() != nullptr) {
      const absl::Status notices = outbox()->DeleteNoticesBefore(
          now_ms - absl::ToInt64Milliseconds(options.notice_retention));
      if (!notices.ok()) {
        log::Error("sweep_failed", "cannot trim the notices").Field("error", notices.ToString());
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
  RecordLoad(policy.status());
  if (!policy.ok()) {
    ++reload_counts_.failed;
    // The errors in the message itself, a line each with file:line:column, as vigil-rules
    // check prints them.
    log::Error("rules_not_reloaded",
               absl::StrCat("rules NOT reloaded; the loaded version keeps serving:\n",
                            policy.status().message()))
        .Field("dir", rules_dir_)
        .Field("version", rules_version());
    return policy.status();
  }
  engine_->SetPolicy(*std::move(policy));
  loads_.back().version = rules_version();
  ++reload_counts_.succeeded;
  log::Info("rules_reloaded", "rules reloaded")
      .Field("dir", rules_dir_)
      .Field("version", rules_version());
  return absl::OkStatus();
}

void VigilServer::RecordLoad(absl::Status status) {
  constexpr size_t kLoadsKept = 20;
  RulesLoad load;
  load.time_ms = clock_->NowMs();
  load.ok = status.ok();
  load.version = rules_version();
  load.error = std::string(status.message());
  loads_.push_back(std::move(load));
  if (loads_.size() > kLoadsKept) loads_.pop_front();
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

void VigilServer::WatchShedding() {
  const uint64_t rejected = metrics_.rejected.Sum(ServerMetrics::kOverload) +
                            metrics_.rejected.Sum(ServerMetrics::kDeadline);
  const bool rising = rejected > shedding_.rejected_seen;
  shedding_.rejected_seen = rejected;
  if (rising && !shedding_.active) {
    shedding_ = {rejected, true, absl::Now(), rejected};
    log::Warn("shedding_started",
              "refusing calls: more arrive than can be answered in time (overload or deadline)")
        .Field("max_inflight", authorize_admission_->limit())
        .Field("in_flight", authorize_admission_->in_flight());
  } else if (!rising && shedding_.active) {
    shedding_.active = false;
    log::Info("shedding_ended", "no call refused in the last second")
        .Field("seconds", absl::ToDoubleSeconds(absl::Now() - shedding_.began))
        .Field("overload_total", metrics_.rejected.Sum(ServerMetrics::kOverload))
        .Field("deadline_total", metrics_.rejected.Sum(ServerMetrics::kDeadline));
  }
}

namespace {

namespace prom = ::prometheus;

prom::ClientMetric::Label Label(std::string name, std::string value) {
  return prom::ClientMetric::Label{std::move(name), std::move(value)};
}

prom::MetricFamily Family(std::string name, std::string help, prom::MetricType type) {
  prom::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

void AddSample(prom::MetricFamily& family, std::vector<prom::ClientMetric::Label> labels,
               double value) {
  prom::ClientMetric metric;
  metric.label = std::move(labels);
  if (family.type == prom::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(std::move(metric));
}

// `scale` converts an observation to the metric's unit (1e-9 for nanoseconds to seconds).
prom::MetricFamily HistogramFamily(std::string name, std::string help, const Histogram& histogram,
                                   double scale) {
  prom::MetricFamily family = Family(std::move(name), std::move(help), prom::MetricType::Histogram);
  const Histogram::Snapshot snapshot = histogram.Read();
  prom::ClientMetric metric;
  metric.histogram.sample_count = snapshot.count;
  metric.histogram.sample_sum = static_cast<double>(snapshot.sum) * scale;
  for (size_t i = 0; i < snapshot.bounds.size(); ++i) {
    metric.histogram.bucket.push_back(
        {snapshot.cumulative[i], static_cast<double>(snapshot.bounds[i]) * scale});
  }
  metric.histogram.bucket.push_back({snapshot.count, std::numeric_limits<double>::infinity()});
  family.metric.push_back(std::move(metric));
  return family;
}

const char* ModeName(rules::RuleMode mode) {
  return mode == rules::RuleMode::kEnforce ? "enforce" : "shadow";
}

}  // namespace

std::string VigilServer::MetricsText() {
  std::vector<prom::MetricFamily> families;

  prom::MetricFamily decisions = Family(
      "vigil_authorize_total", "Authorize calls answered, by decision", prom::MetricType::Counter);
  for (Decision decision : {Decision::kApprove, Decision::kChallenge, Decision::kDecline}) {
    AddSample(decisions, {Label("decision", std::string(Name(decision)))},
              static_cast<double>(metrics_.decisions.Sum(static_cast<size_t>(decision) - 1)));
  }
  families.push_back(std::move(decisions));

  const std::shared_ptr<const Policy> policy = engine_->policy();
  prom::MetricFamily hits =
      Family("vigil_rule_hits_total",
             "Rules that fired (enforce) or would have (shadow), since their rule set was loaded",
             prom::MetricType::Counter);
  if (const auto* rule_set = dynamic_cast<const rules::CompiledRuleSet*>(policy.get())) {
    for (const rules::RuleStats& rule : rule_set->Stats()) {
      AddSample(hits, {Label("rule_id", rule.id), Label("mode", ModeName(rule.mode))},
                static_cast<double>(rule.hits));
    }
  }
  families.push_back(std::move(hits));

  families.push_back(HistogramFamily("vigil_authorize_duration_seconds",
                                     "Authorize calls from their handler to their answer, in "
                                     "vigild (durability included, transport not)",
                                     metrics_.authorize_latency, 1e-9));

  prom::MetricFamily rejected =
      Family("vigil_rejected_total", "Calls refused before being decided, by reason",
             prom::MetricType::Counter);
  AddSample(rejected, {Label("reason", "overload")},
            static_cast<double>(metrics_.rejected.Sum(ServerMetrics::kOverload)));
  AddSample(rejected, {Label("reason", "deadline")},
            static_cast<double>(metrics_.rejected.Sum(ServerMetrics::kDeadline)));
  families.push_back(std::move(rejected));

  const ReloadCounts reloads = reload_counts();
  prom::MetricFamily reload_family =
      Family("vigil_rules_reloads_total", "Rule set reloads since start, by result",
             prom::MetricType::Counter);
  AddSample(reload_family, {Label("result", "ok")}, static_cast<double>(reloads.succeeded));
  AddSample(reload_family, {Label("result", "error")}, static_cast<double>(reloads.failed));
  families.push_back(std::move(reload_family));

  prom::MetricFamily info =
      Family("vigil_rules_info", "The rule set deciding calls now", prom::MetricType::Gauge);
  AddSample(info, {Label("version", std::string(policy->version()))}, 1);
  families.push_back(std::move(info));

  families.push_back(HistogramFamily("vigil_journal_write_duration_seconds",
                                     "Store write batches, from the start of the write to its "
                                     "end (sync included)",
                                     metrics_.journal_write_latency, 1e-9));
  families.push_back(HistogramFamily("vigil_journal_batch_changes",
                                     "Changes per store write batch (the group commit)",
                                     metrics_.journal_batch_size, 1));

  const Engine::RecordCounts records = engine_->CountRecords();
  prom::MetricFamily held =
      Family("vigil_records", "Records vigild holds in memory, by kind", prom::MetricType::Gauge);
  AddSample(held, {Label("kind", "users")}, static_cast<double>(records.users));
  AddSample(held, {Label("kind", "idempotency")}, static_cast<double>(records.transactions));
  AddSample(held, {Label("kind", "grant_idempotency")}, static_cast<double>(records.grants));
  families.push_back(std::move(held));

  prom::MetricFamily in_flight =
      Family("vigil_inflight", "Calls in progress, by admission class", prom::MetricType::Gauge);
  AddSample(in_flight, {Label("class", "authorize")},
            static_cast<double>(authorize_admission_->in_flight()));
  AddSample(in_flight, {Label("class", "mandates_users")},
            static_cast<double>(users_admission_->in_flight()));
  families.push_back(std::move(in_flight));

  if (cluster_ != nullptr) {
    prom::MetricFamily trips =
        Family("vigil_redis_round_trips_total",
               "Waits for Redis Cluster replies: the round trips calls waited for (a charge's "
               "claim of its id, under way while the charge is decided, is not one)",
               prom::MetricType::Counter);
    AddSample(trips, {}, static_cast<double>(cluster_->round_trips()));
    families.push_back(std::move(trips));
    prom::MetricFamily conflicts =
        Family("vigil_redis_conflicts_total",
               "Commits refused because another node changed the user first, then decided again",
               prom::MetricType::Counter);
    AddSample(conflicts, {}, static_cast<double>(shared_engine_->conflicts()));
    families.push_back(std::move(conflicts));
  }

  if (authorizer_ != nullptr) {
    prom::MetricFamily denied =
        Family("vigil_authz_denied_total", "Calls refused by the authorization policy",
               prom::MetricType::Counter);
    AddSample(denied, {}, static_cast<double>(authorizer_->denied()));
    families.push_back(std::move(denied));
  }
  return prom::TextSerializer().Serialize(families);
}

std::string VigilServer::RulesJson() const {
  const std::shared_ptr<const Policy> policy = engine_->policy();
  google::protobuf::Struct out;
  (*out.mutable_fields())["version"].set_string_value(std::string(policy->version()));
  google::protobuf::ListValue* list = (*out.mutable_fields())["rules"].mutable_list_value();
  if (const auto* rule_set = dynamic_cast<const rules::CompiledRuleSet*>(policy.get())) {
    const std::vector<rules::RuleStats> stats = rule_set->Stats();
    const std::vector<rules::CompiledRule>& compiled = rule_set->rules();
    for (size_t i = 0; i < compiled.size(); ++i) {
      auto& fields = *list->add_values()->mutable_struct_value()->mutable_fields();
      fields["id"].set_string_value(compiled[i].id);
      fields["mode"].set_string_value(ModeName(compiled[i].mode));
      fields["action"].set_string_value(
          v1::Decision_Name(static_cast<v1::Decision>(compiled[i].action)));
      fields["code"].set_string_value(compiled[i].reason->code);
      fields["hits"].set_number_value(static_cast<double>(stats[i].hits));
    }
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(out, &json);
  json += "\n";
  return json;
}

std::string VigilServer::rules_version() const { return std::string(engine_->policy()->version()); }

void VigilServer::Shutdown(absl::Duration grace) {
  if (!stopping_.HasBeenNotified()) stopping_.Notify();
  if (server_ == nullptr) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  notices_->Stop();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void VigilServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace vigil::server
