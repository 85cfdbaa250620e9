// vigild: the Vigil risk engine server. See README.md for flags and operations.

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/signal_set.hpp"
#include "engine/server/dashed_flags.h"
#include "engine/server/log.h"
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
ABSL_FLAG(int, notice_retention_h, 24 * 7,
          "hours notices are kept for consumers that have not acked them");
ABSL_FLAG(int, notice_check_s, 30,
          "how often the notice scans (dormant and expiring mandates, monthly summaries) check "
          "whether they are due; 0 turns them off");
ABSL_FLAG(bool, trust_client_time, false,
          "take each Authorize's event_time_ms as its time (replays and tests only)");
ABSL_FLAG(int, rules_poll_ms, 1000,
          "how often to look for changed rule files (and --authz-policy) and reload them; "
          "0 = only on SIGHUP");
ABSL_FLAG(int, shutdown_grace_s, 10,
          "on SIGTERM, seconds to let calls in flight finish before cancelling them");
ABSL_FLAG(std::string, tls_cert, "", "serve TLS with this certificate chain (PEM)");
ABSL_FLAG(std::string, tls_key, "", "the private key of --tls-cert (PEM)");
ABSL_FLAG(std::string, tls_client_ca, "",
          "require client certificates signed by this CA (PEM): mutual TLS");
ABSL_FLAG(int, tls_refresh_s, 10, "how often the TLS files are re-read for a rotated certificate");
ABSL_FLAG(std::string, authz_policy, "",
          "gRPC authorization policy (gRFC A43 JSON) of which client certificate may call which "
          "RPC, e.g. config/authz_policy.json; needs mutual TLS");
ABSL_FLAG(bool, insecure, false,
          "allow plaintext gRPC and admin HTTP on addresses that are not loopback");
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:9464",
          "admin HTTP (/metrics, /healthz, /readyz, /rules, and the console at /), HOST:PORT; "
          "empty turns it off");
ABSL_FLAG(std::string, console_tokens, "",
          "who may change state through the console: a file of lines \"SHA256-OF-TOKEN "
          "PRINCIPAL\", each principal's role as --authz-policy grants it; empty: read-only");
ABSL_FLAG(int, console_sample_s, 10, "the console's charts: seconds per interval");
ABSL_FLAG(std::string, redis_cluster, "",
          "keep users in this Redis Cluster, HOST:PORT[,HOST:PORT...] (its seed nodes), shared "
          "with every vigild given the same cluster; with --data-dir, the decision log stays "
          "local");
ABSL_FLAG(int, redis_wait_replicas, 0,
          "with --redis-cluster: replicas that must have each change before it is acknowledged "
          "(Redis WAIT); 0 acknowledges on the primary alone");
ABSL_FLAG(int, max_inflight, 512,
          "Authorize calls in progress beyond which a call gets RESOURCE_EXHAUSTED at once");
ABSL_FLAG(int, max_inflight_users, 64,
          "the same for Mandates and Users calls, which keep this capacity of their own");
ABSL_FLAG(int, transport_memory_mb, 256, "memory gRPC's transport may use (its ResourceQuota)");
ABSL_FLAG(std::string, log_format, "text", "text (for a terminal) or json (one object a line)");

namespace {

vigil::server::ServerOptions OptionsFromFlags() {
  vigil::server::ServerOptions options;
  options.listen = absl::GetFlag(FLAGS_listen);
  options.rules_dir = absl::GetFlag(FLAGS_rules);
  options.data_dir = absl::GetFlag(FLAGS_data_dir);
  options.trust_client_time = absl::GetFlag(FLAGS_trust_client_time);
  options.rules_poll_interval = absl::Milliseconds(absl::GetFlag(FLAGS_rules_poll_ms));
  options.fsync = absl::GetFlag(FLAGS_fsync);
  options.idempotency_retention = absl::Hours(absl::GetFlag(FLAGS_idempotency_retention_h));
  options.decision_log_retention = absl::Hours(24 * absl::GetFlag(FLAGS_decision_log_retention_d));
  options.notice_retention = absl::Hours(absl::GetFlag(FLAGS_notice_retention_h));
  options.notice_check_interval = absl::Seconds(absl::GetFlag(FLAGS_notice_check_s));
  options.tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  options.tls.key_file = absl::GetFlag(FLAGS_tls_key);
  options.tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
  options.tls.refresh = absl::Seconds(absl::GetFlag(FLAGS_tls_refresh_s));
  options.authz_policy_file = absl::GetFlag(FLAGS_authz_policy);
  options.insecure = absl::GetFlag(FLAGS_insecure);
  options.admin_listen = absl::GetFlag(FLAGS_admin_listen);
  options.console_tokens_file = absl::GetFlag(FLAGS_console_tokens);
  options.console_sample_interval = absl::Seconds(absl::GetFlag(FLAGS_console_sample_s));
  if (const std::string seeds = absl::GetFlag(FLAGS_redis_cluster); !seeds.empty()) {
    options.redis_cluster = absl::StrSplit(seeds, ',', absl::SkipEmpty());
  }
  options.redis_wait_replicas = absl::GetFlag(FLAGS_redis_wait_replicas);
  options.max_inflight = absl::GetFlag(FLAGS_max_inflight);
  options.max_inflight_users = absl::GetFlag(FLAGS_max_inflight_users);
  options.transport_memory_bytes = int64_t{absl::GetFlag(FLAGS_transport_memory_mb)} << 20;
  return options;
}

// What started, with what, and what start-up restored.
void LogStarted(const vigil::server::ServerOptions& options,
                const vigil::server::VigilServer& server) {
  if (!options.data_dir.empty()) {
    const auto& recovery = server.recovery();
    vigil::log::Info("restored", "state restored from the store")
        .Field("users", uint64_t{recovery.users})
        .Field("idempotency_records", uint64_t{recovery.transactions})
        .Field("data_dir", options.data_dir)
        .Field("seconds", absl::ToDoubleSeconds(recovery.took));
  }
  vigil::log::Info("started", "vigild serving")
      .Field("listen", options.listen)
      .Field("port", server.port())
      .Field("tls", options.tls.cert_file.empty()        ? "off"
                    : options.tls.client_ca_file.empty() ? "server"
                                                         : "mutual")
      .Field("authz_policy", options.authz_policy_file.empty() ? "none" : options.authz_policy_file)
      .Field("admin_port", server.admin_port())
      .Field("rules", options.rules_dir)
      .Field("version", server.rules_version())
      .Field("redis_cluster", absl::StrJoin(options.redis_cluster, ","))
      .Field("store", options.data_dir.empty() ? "memory only (no --data-dir)"
                      : options.fsync          ? "synced to disk on every write"
                                               : "written to the OS (--nofsync)")
      .Field("max_inflight", options.max_inflight)
      .Field("trust_client_time", options.trust_client_time);
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Vigil risk engine: answers Authorize for password-free payments.\n"
      "usage: vigild [--listen HOST:PORT] [--rules DIR] [--data-dir DIR] [--trust-client-time]\n"
      "              [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--authz-policy "
      "FILE]");
  vigil::AcceptDashedFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  vigil::log::Format format;
  if (absl::Status status = vigil::log::ParseFormat(absl::GetFlag(FLAGS_log_format), &format);
      !status.ok()) {
    std::fprintf(stderr, "vigild: %s\n", std::string(status.message()).c_str());
    return 2;
  }
  vigil::log::SetFormat(format);
  // Abseil's mutex deadlock detector keeps one process-wide lock graph, updated on every lock:
  // a global lock on the hot path, and in debug builds of Abseil it is on by default. The lock
  // order is fixed by design (engine.h) and the tests run with the detector on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);

  // Signals are taken by Boost.Asio, on a thread of their own. The set is made before the server
  // starts, so that a SIGTERM from then on drains rather than kills.
  boost::asio::io_context signals_io(1);
  boost::asio::signal_set signals(signals_io, SIGTERM, SIGINT, SIGHUP);

  const vigil::server::ServerOptions options = OptionsFromFlags();
  absl::StatusOr<std::unique_ptr<vigil::server::VigilServer>> server =
      vigil::server::VigilServer::Start(options);
  if (!server.ok()) {
    // The error in the message itself: it may list rule errors a line each, file:line:column.
    vigil::log::Error("start_failed",
                      absl::StrCat("vigild cannot start: ", server.status().ToString()));
    return 1;
  }
  LogStarted(options, **server);

  // SIGHUP reloads the rules (a rule set that fails to compile changes nothing); SIGTERM and
  // SIGINT drain and stop.
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& error, int signal) {
        if (error) return;
        if (signal == SIGHUP) {
          vigil::log::Info("sighup", "SIGHUP received, reloading rules");
          (void)(*server)->ReloadRules();
          signals.async_wait(on_signal);
          return;
        }
        vigil::log::Info("stopping", "finishing calls in flight")
            .Field("signal", signal == SIGTERM ? "SIGTERM" : "SIGINT")
            .Field("grace_s", absl::GetFlag(FLAGS_shutdown_grace_s));
        // Waits for the calls in flight; no other signal needs handling meanwhile.
        (*server)->Shutdown(absl::Seconds(absl::GetFlag(FLAGS_shutdown_grace_s)));
      };
  signals.async_wait(on_signal);
  std::thread signal_thread([&] { signals_io.run(); });
  (*server)->Wait();
  signals_io.stop();
  signal_thread.join();
  vigil::log::Info("stopped", "vigild stopped");
  return 0;
}
