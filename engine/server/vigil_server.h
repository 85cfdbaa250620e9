#pragma once

// VigilServer is vigild without its process concerns (flags, signals): the engine on the policy
// from a rules directory, the RiskEngine, Mandates, Users, Audit and Notices services (with the
// notice scans on their schedule), the standard
// health service and server reflection, on one listening address, optionally behind TLS, mutual
// TLS and an authorization policy; and the admin HTTP server (metrics, health, the loaded rules)
// on another. Tests run it in-process on port 0.
//
//   absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
//   ... (*server)->port() ...
//   (*server)->Shutdown(absl::Seconds(10));
//
// Thread-safe.

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/core/shared_engine.h"
#include "engine/net/policy_authorizer.h"
#include "engine/net/tls_credentials.h"
#include "engine/server/admin_http.h"
#include "engine/server/admission.h"
#include "engine/server/audit_service.h"
#include "engine/server/console.h"
#include "engine/server/event_loop.h"
#include "engine/server/mandates_service.h"
#include "engine/server/metrics.h"
#include "engine/server/notice_scheduler.h"
#include "engine/server/notices_service.h"
#include "engine/server/risk_engine_service.h"
#include "engine/server/users_service.h"
#include "engine/store/redis_shared_state.h"
#include "engine/store/rocksdb_store.h"
#include "grpcpp/server.h"

namespace vigil::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // port 0 picks a free one
  // TLS when tls.cert_file is set; mutual TLS when tls.client_ca_file is set too.
  net::ServerTls tls;
  // A gRPC authorization policy (gRFC A43 JSON) deciding which client certificate may call
  // which RPC; re-read when it changes. Needs mutual TLS. Empty: every caller may call anything.
  std::string authz_policy_file;
  // Serve plaintext on an address that is not loopback. Without it, such an address is refused
  // unless TLS is on: payment traffic in the clear is a choice an operator makes explicitly.
  bool insecure = false;
  // The admin HTTP server (metrics, /healthz, /readyz, /rules, the console); empty turns it off.
  std::string admin_listen;
  // Who may change state through the console (engine/server/console.h); empty: read-only.
  std::string console_tokens_file;
  // The console's charts: the length of one interval.
  absl::Duration console_sample_interval = absl::Seconds(10);
  // Authorize calls in progress beyond which a call gets RESOURCE_EXHAUSTED. With
  // max_inflight_users it also bounds the HTTP/2 streams a connection may have open, so that the
  // transport never holds more calls per connection than vigild would take.
  int max_inflight = 512;
  // The same for Mandates and Users calls together, kept apart from Authorize's.
  int max_inflight_users = 64;
  // gRPC's ResourceQuota: the memory the transport may take for calls and buffers.
  int64_t transport_memory_bytes = int64_t{256} << 20;
  std::string rules_dir = "rules";
  // Where state is kept (RocksDB); empty keeps everything in memory (lost on exit). With
  // redis_cluster, only the decision log is kept there (the notices are the cluster's).
  std::string data_dir;
  // Seed nodes ("host:port") of a Redis Cluster that keeps every user's state, shared with any
  // other vigild given the same cluster (engine/core/shared_engine.h). Empty: this node alone.
  std::vector<std::string> redis_cluster;
  // Replicas that must have each change before it is acknowledged (Redis's WAIT); 0: none.
  int redis_wait_replicas = 0;
  // Sync every write batch to disk (survives power loss) or only hand it to the OS (survives
  // a crash of vigild).
  bool fsync = true;
  // How long a transaction_id is remembered (idempotency), and the decision log kept.
  absl::Duration idempotency_retention = absl::Hours(24 * 7);
  absl::Duration decision_log_retention = absl::Hours(24 * 90);
  // How long notices are kept for consumers that have not acked them.
  absl::Duration notice_retention = absl::Hours(24 * 7);
  // How often the notice scans (engine/server/notice_scheduler.h) check whether they are due
  // (vigild checks every 30 s); zero: only when NoticeScheduler::RunDue() is called.
  absl::Duration notice_check_interval = absl::ZeroDuration();
  // How often expired records are removed: one pass over them per interval, spread evenly over
  // the interval in small steps.
  absl::Duration sweep_interval = absl::Minutes(1);
  // The environment the store does its I/O through (tests inject faults); nullptr: the real one.
  rocksdb::Env* store_env = nullptr;
  bool trust_client_time = false;
  // How often to look for changed rule files and reload them; zero turns watching off (SIGHUP
  // in vigild, or ReloadRules(), still reloads).
  absl::Duration rules_poll_interval = absl::Seconds(1);
  // The clock the engine reads; nullptr means the wall clock. Must outlive the server.
  const Clock* clock = nullptr;
};

class VigilServer {
 public:
  // Loads the rules and starts serving. INVALID_ARGUMENT or NOT_FOUND for a bad rules directory,
  // UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<VigilServer>> Start(const ServerOptions& options);
  ~VigilServer();

  // Recompiles the rules directory and, if it compiles, makes it decide every call that starts
  // from now on (calls in flight finish on the old rule set). If it does not compile, nothing
  // changes, the old rule set keeps serving, and the errors are returned (INVALID_ARGUMENT or
  // NOT_FOUND). Thread-safe; reloads are serialised.
  absl::Status ReloadRules();

  struct ReloadCounts {
    uint64_t succeeded = 0;
    uint64_t failed = 0;
  };
  ReloadCounts reload_counts() const;

  // The Prometheus text exposition of vigild's metrics, as GET /metrics serves it.
  std::string MetricsText();
  // The loaded rule set as JSON (version; each rule's id, mode, action, code and hits), as
  // GET /rules serves it.
  std::string RulesJson() const;
  // Whether the server takes calls: false from the moment it starts shutting down.
  bool serving() const { return !stopping_.HasBeenNotified(); }
  // Authorize calls admitted and not yet answered.
  int64_t authorize_in_flight() const { return authorize_admission_->in_flight(); }
  // The admin HTTP server's port; 0 when it is off.
  int admin_port() const { return admin_ == nullptr ? 0 : admin_->port(); }

  // The port actually bound.
  int port() const { return port_; }
  std::string rules_version() const;
  Engine& engine() { return *engine_; }
  // nullptr without a data directory.
  store::RocksDbStore* store() { return store_.get(); }
  // The notice scans; nullptr without an outbox (neither a data directory nor a Redis Cluster).
  NoticeScheduler* notice_scheduler() { return scheduler_.get(); }
  // Where notices are kept: the Redis Cluster's outbox, or the store's; nullptr without either.
  NoticeOutbox* outbox() {
    return notice_outbox_ != nullptr ? static_cast<NoticeOutbox*>(notice_outbox_.get())
                                     : store_.get();
  }
  NoticesService& notices() { return *notices_; }
  // What start-up restored, for the log and tests.
  struct Recovery {
    size_t users = 0;
    size_t transactions = 0;
    absl::Duration took;
  };
  const Recovery& recovery() const { return recovery_; }

  // Stops accepting calls, lets those in flight finish (cancelling any still running after
  // `grace`), and returns once all are done. Idempotent.
  void Shutdown(absl::Duration grace);
  // Blocks until the server has shut down.
  void Wait();

 private:
  VigilServer() = default;
  // Start's stages. Opens the store and reads what it restores.
  absl::StatusOr<RestoredState> OpenStore(const ServerOptions& options);
  // Connects to the Redis Cluster, loads vigild's functions onto it and starts relaying its
  // notices; `holder` names this node to the other nodes.
  absl::Status OpenSharedState(const ServerOptions& options, const std::string& holder);
  // The services, their admission and credentials, and the gRPC server, serving.
  absl::Status StartGrpc(const ServerOptions& options);
  // The event loop (shedding log, policy reloads, admin HTTP), the rules watcher, the sweeper.
  absl::Status StartBackground(const ServerOptions& options);
  // Reloads when the content of the rule files changes, until shutdown.
  void WatchRules(absl::Duration interval);
  // Removes expired idempotency records and decision log entries, until shutdown.
  void Sweep(const ServerOptions& options);
  // Logs the start and the end of each episode of refused calls; on the event loop each second.
  void WatchShedding();
  // Re-reads the authorization policy if its file changed; on the event loop.
  void ReloadAuthzPolicy();
  // Serves /metrics, /healthz, /readyz, /rules and the console on the admin address, on the
  // event loop.
  absl::Status StartAdmin(const ServerOptions& options);
  // Remembers a load of the rules for the console's history. REQUIRES: reload_mu_ held.
  void RecordLoad(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(reload_mu_);
  // Counts the store's writes and logs its faults.
  class StoreObserver;

  std::unique_ptr<Clock> own_clock_;
  const Clock* clock_ = nullptr;
  ServerMetrics metrics_;
  std::unique_ptr<StoreObserver> store_observer_;
  // Declared before the engine, so that they outlive it.
  std::unique_ptr<store::RocksDbStore> store_;
  std::unique_ptr<redis::ClusterClient> cluster_;
  // The notices' relay, Watch's reads and the scans, on connections of their own.
  std::unique_ptr<redis::ClusterClient> background_cluster_;
  std::unique_ptr<store::RedisNoticeOutbox> notice_outbox_;
  std::unique_ptr<store::RedisSharedState> shared_state_;
  Recovery recovery_;
  std::unique_ptr<Engine> engine_;
  SharedEngine* shared_engine_ = nullptr;  // engine_, on a Redis Cluster; else nullptr
  std::unique_ptr<AuditService> audit_;
  std::unique_ptr<NoticesService> notices_;
  std::unique_ptr<RiskEngineService> risk_engine_;
  std::unique_ptr<MandatesService> mandates_;
  std::unique_ptr<UsersService> users_;
  std::unique_ptr<Admission> authorize_admission_;
  std::unique_ptr<Admission> users_admission_;
  std::shared_ptr<net::PolicyAuthorizer> authorizer_;  // nullptr without --authz-policy
  std::unique_ptr<grpc::Server> server_;
  // The loop outlives the admin server that runs on it.
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<Console> console_;  // before the admin server, whose routes use it
  std::unique_ptr<AdminHttp> admin_;
  // Null without an outbox.
  std::unique_ptr<NoticeScheduler> scheduler_;
  struct Shedding {
    uint64_t rejected_seen = 0;
    bool active = false;
    absl::Time began;
    uint64_t rejected_at_start = 0;
  } shedding_;  // on the event loop only
  int port_ = 0;
  std::string rules_dir_;

  mutable absl::Mutex reload_mu_;
  ReloadCounts reload_counts_ ABSL_GUARDED_BY(reload_mu_);
  std::deque<RulesLoad> loads_ ABSL_GUARDED_BY(reload_mu_);  // the last few, oldest first
  absl::Notification stopping_;
  std::thread watcher_;
  std::thread sweeper_;
};

}  // namespace vigil::server
