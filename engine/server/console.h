#pragma once

// Console is the risk team's web console, served by vigild's admin HTTP server: the page, built
// into vigild with its charting library (console/), and the JSON it reads.
//
//   GET  /                   the page; /console.js, /console.css, /uplot.js, /uplot.css
//   GET  /api/overview       decisions per interval over the last hour, and the top reason codes
//   GET  /api/rules          the loaded rule set as written (rules, params, lists), its rules'
//                            hits since it was loaded, and the reload history
//   GET  /api/users/USER     profile, limits, mandates, and recent decisions with their reasons
//   POST /api/revoke         {"user_id", "mandate_id", "reason"}: revokes on the user's behalf
//
// Reading is open to whoever reaches the admin address, as /metrics is. Changing state needs a
// caller with a role that may: a bearer token listed in the tokens file (each line the SHA-256
// of a token, in hex, then the principal it stands for, e.g. spiffe://vigil/support), whose
// principal the authorization policy, when vigild has one, allows to call
// /vigil.v1.Mandates/RevokeMandate: the same roles as on gRPC. Without a tokens file the console
// is read-only. A refused call changes nothing. Tokens are never logged; principals are.
//
//   Console console(sources, options);
//   console.AddRoutes(routes);
//   loop.Every(options.sample_interval, [&] { console.Sample(); });
//
// Not thread-safe: Sample() and the handlers run on the event loop, one at a time.

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/core/clock.h"
#include "engine/core/decision_log.h"
#include "engine/core/engine.h"
#include "engine/net/policy_authorizer.h"
#include "engine/server/admin_http.h"
#include "engine/server/metrics.h"

namespace vigil::server {

// One attempt to load the rules, for the console's reload history.
struct RulesLoad {
  int64_t time_ms = 0;
  bool ok = false;
  std::string version;  // the version serving after it
  std::string error;    // when !ok
};

struct ConsoleSources {
  Engine* engine = nullptr;
  DecisionLog* log = nullptr;  // nullptr without a data directory: no recent decisions
  const ServerMetrics* metrics = nullptr;
  const Clock* clock = nullptr;
  // nullptr without an authorization policy: any listed token may change state.
  std::shared_ptr<net::PolicyAuthorizer> authorizer;
  std::function<std::vector<RulesLoad>()> loads;  // oldest first
};

struct ConsoleOptions {
  std::string tokens_file;  // empty: the console is read-only
  absl::Duration sample_interval = absl::Seconds(10);
};

class Console {
 public:
  // INVALID_ARGUMENT or NOT_FOUND for a tokens file that cannot be read or has a malformed line.
  static absl::StatusOr<std::unique_ptr<Console>> Create(ConsoleSources sources,
                                                         ConsoleOptions options);

  void AddRoutes(AdminHttp::Routes& routes);
  // Closes the current interval of the decision mix; every sample_interval, on the loop.
  void Sample();

 private:
  // Decisions and reason hits in one interval.
  struct Interval {
    int64_t end_ms = 0;
    std::array<uint64_t, 3> decisions{};                     // APPROVE, CHALLENGE, DECLINE
    std::map<std::string, std::array<uint64_t, 2>> reasons;  // code -> (enforced, shadow)
  };
  struct Token {
    std::array<unsigned char, 32> sha256;
    std::string principal;
  };

  Console(ConsoleSources sources, ConsoleOptions options, std::vector<Token> tokens);

  // What happened since the last sample, ending now; commits it as the last sample when asked.
  Interval Measure(bool commit);
  AdminHttp::Reply Overview();
  AdminHttp::Reply Rules() const;
  AdminHttp::Reply User(const AdminHttp::Request& request) const;
  AdminHttp::Reply Revoke(const AdminHttp::Request& request) const;
  // The principal of the request's bearer token; nullopt for none or an unknown one.
  std::optional<std::string> PrincipalOf(const AdminHttp::Request& request) const;

  ConsoleSources sources_;
  ConsoleOptions options_;
  std::vector<Token> tokens_;
  std::deque<Interval> intervals_;  // the last hour, oldest first
  // The counters as last sampled.
  std::array<uint64_t, 3> seen_decisions_{};
  std::string seen_rules_version_;
  std::map<std::string, uint64_t> seen_hits_;  // "mode/rule_id" -> hits
};

}  // namespace vigil::server
