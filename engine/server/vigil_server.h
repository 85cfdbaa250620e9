#pragma once

// VigilServer is vigild without its process concerns (flags, signals): the engine on the policy
// from a rules directory, the RiskEngine, Mandates and Users services, the standard health
// service and server reflection, on one listening address. Tests run it in-process on port 0.
//
//   absl::StatusOr<std::unique_ptr<VigilServer>> server = VigilServer::Start(options);
//   ... (*server)->port() ...
//   (*server)->Shutdown(absl::Seconds(10));
//
// Thread-safe.

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/server/audit_service.h"
#include "engine/server/mandates_service.h"
#include "engine/server/risk_engine_service.h"
#include "engine/server/users_service.h"
#include "engine/store/rocksdb_store.h"
#include "grpcpp/server.h"

namespace vigil::server {

struct ServerOptions {
  std::string listen = "127.0.0.1:50051";  // port 0 picks a free one
  std::string rules_dir = "rules";
  // Where state is kept (RocksDB); empty keeps everything in memory (lost on exit).
  std::string data_dir;
  // Sync every write batch to disk (survives power loss) or only hand it to the OS (survives
  // a crash of vigild).
  bool fsync = true;
  // How long a transaction_id is remembered (idempotency), and the decision log kept.
  absl::Duration idempotency_retention = absl::Hours(24 * 7);
  absl::Duration decision_log_retention = absl::Hours(24 * 90);
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

  // The port actually bound.
  int port() const { return port_; }
  std::string rules_version() const;
  Engine& engine() { return *engine_; }
  // nullptr without a data directory.
  store::RocksDbStore* store() { return store_.get(); }
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
  // Reloads when the content of the rule files changes, until shutdown.
  void WatchRules(absl::Duration interval);
  // Removes expired idempotency records and decision log entries, until shutdown.
  void Sweep(const ServerOptions& options);

  std::unique_ptr<Clock> own_clock_;
  const Clock* clock_ = nullptr;
  // Declared before the engine, so that it outlives it.
  std::unique_ptr<store::RocksDbStore> store_;
  Recovery recovery_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<AuditService> audit_;
  std::unique_ptr<RiskEngineService> risk_engine_;
  std::unique_ptr<MandatesService> mandates_;
  std::unique_ptr<UsersService> users_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string rules_dir_;

  mutable absl::Mutex reload_mu_;
  ReloadCounts reload_counts_ ABSL_GUARDED_BY(reload_mu_);
  absl::Notification stopping_;
  std::thread watcher_;
  std::thread sweeper_;
};

}  // namespace vigil::server
