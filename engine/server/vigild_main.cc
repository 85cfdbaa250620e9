// vigild: the Vigil risk engine server. See README.md for flags and operations.

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/synchronization/mutex.h"
#include "engine/server/dashed_flags.h"
#include "engine/server/vigil_server.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051", "address to serve gRPC on, HOST:PORT");
ABSL_FLAG(std::string, rules, "rules/", "directory of the rule set");
ABSL_FLAG(std::string, data_dir, "",
          "directory of the embedded store (RocksDB); empty keeps state in memory only");
ABSL_FLAG(bool, fsync, true,
          "sync every write batch to disk (survives power loss); --nofsync only hands it to the "
          "OS (survives a crash of vigild)");
ABSL_FLAG(int, idempotency_retention_h, 24 * 7, "hours a transaction_id is remembered");
ABSL_FLAG(int, decision_log_retention_d, 90, "days the decision log is kept");
ABSL_FLAG(bool, trust_client_time, false,
          "take each Authorize's event_time_ms as its time (replays and tests only)");
ABSL_FLAG(int, rules_poll_ms, 1000,
          "how often to look for changed rule files and reload them; 0 = only on SIGHUP");
ABSL_FLAG(int, shutdown_grace_s, 10,
          "on SIGTERM, seconds to let calls in flight finish before cancelling them");

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Vigil risk engine: answers Authorize for password-free payments.\n"
      "usage: vigild [--listen HOST:PORT] [--rules DIR] [--data-dir DIR] [--trust-client-time]");
  vigil::AcceptDashedFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  // Abseil's mutex deadlock detector keeps one process-wide lock graph, updated on every lock:
  // a global lock on the hot path, and in debug builds of Abseil it is on by default. The lock
  // order is fixed by design (engine.h) and the tests run with the detector on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Signals are taken synchronously by one thread; block them before gRPC starts its threads so
  // that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  vigil::server::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.rules_dir = absl::GetFlag(FLAGS_rules);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.trust_client_time = absl::GetFlag(FLAGS_trust_client_time);
  options.rules_poll_interval = absl::Milliseconds(absl::GetFlag(FLAGS_rules_poll_ms));
  options.fsync = absl::GetFlag(FLAGS_fsync);
  options.idempotency_retention = absl::Hours(absl::GetFlag(FLAGS_idempotency_retention_h));
  options.decision_log_retention = absl::Hours(24 * absl::GetFlag(FLAGS_decision_log_retention_d));
  absl::StatusOr<std::unique_ptr<vigil::server::VigilServer>> server =
      vigil::server::VigilServer::Start(options);
  if (!server.ok()) {
    std::fprintf(stderr, "vigild: cannot start: %s\n", server.status().ToString().c_str());
    return 1;
  }
  if (!options.data_dir.empty()) {
    const auto& recovery = (*server)->recovery();
    std::fprintf(stderr, "vigild: restored %zu users and %zu idempotency records from %s in %s\n",
                 recovery.users, recovery.transactions, options.data_dir.c_str(),
                 absl::FormatDuration(recovery.took).c_str());
  }
  std::fprintf(stderr, "vigild: serving on %s (port %d), rules %s version %s, %s%s\n",
               options.listen.c_str(), (*server)->port(), options.rules_dir.c_str(),
               (*server)->rules_version().c_str(),
               options.data_dir.empty() ? "state in memory only (no --data-dir)"
               : options.fsync          ? "store synced to disk on every write"
                                        : "store written to the OS (--nofsync)",
               options.trust_client_time ? ", trusting client event times" : "");

  std::thread signal_waiter([&] {
    int signal = 0;
    // SIGHUP reloads the rules (a rule set that fails to compile changes nothing).
    while (sigwait(&signals, &signal) == 0 && signal == SIGHUP) {
      std::fprintf(stderr, "vigild: SIGHUP received, reloading rules\n");
      (void)(*server)->ReloadRules();
    }
    std::fprintf(stderr, "vigild: %s received, finishing calls in flight\n",
                 signal == SIGTERM ? "SIGTERM" : "SIGINT");
    (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_s)));
  });
  (*server)->Wait();
  signal_waiter.join();
  std::fprintf(stderr, "vigild: stopped\n");
  return 0;
}
