#pragma once

// Replay decides a decision log again under another rule set: every charge, outcome, mandate
// change and profile of the log, in its order and at its recorded time, on an engine of its own
// that starts empty. What the new rules decide feeds that engine's state, so a charge approved
// now but challenged in history counts in the windows of the charges after it. The Replayer
// compares each new answer with the logged one and keeps the tallies a risk team reads before
// a rule set goes live.
//
//   Replayer replayer(std::move(policy), ReplayOptions{});
//   for (each line) replayer.Replay(*ParseLogLine(line));
//   ReplayReport report = replayer.Finish();
//
// Deterministic: the same entries under the same policy give the same report. Not thread-safe;
// one Replayer is one sequential pass.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/core/journal.h"
#include "engine/core/policy.h"

namespace vigil::replay {

// One line of `vigilctl export-decisions` (a vigil.v1.DecisionRecord as JSON) as the entry it
// records. INVALID_ARGUMENT, saying what is wrong, for a line that is not one.
absl::StatusOr<DecisionLogEntry> ParseLogLine(absl::string_view line);

struct ReplayOptions {
  size_t sample_size = 20;  // changed charges kept, the first ones in log order
  size_t top_users = 10;    // users with the most changed charges
  // How long a transaction_id is remembered, as vigild's --idempotency-retention-h: an outcome
  // reported later than this after its charge is refused, as vigild refused it. 0: forever.
  int64_t idempotency_retention_ms = int64_t{7} * 24 * 3'600'000;
};

// A charge the rules now decide differently (or with other reasons).
struct ChangedCharge {
  int64_t time_ms = 0;
  std::string transaction_id;
  std::string user_id;
  AuthorizeResponse logged;
  AuthorizeResponse replayed;
};

struct ReplayReport {
  int64_t total = 0;    // charges replayed
  int64_t changed = 0;  // decided differently
  // Decided the same but with other reasons, shadow reasons or notice.
  int64_t reasons_changed = 0;
  int64_t outcomes = 0;         // outcomes replayed
  int64_t mandate_changes = 0;  // grants, pauses, resumes and revocations replayed
  int64_t profiles = 0;         // profile puts replayed
  // Entries the new rules' engine refused (a grant or profile they forbid, an outcome for a
  // charge it refused), and the first of their reasons.
  int64_t refused = 0;
  std::vector<std::string> refusals;
  std::map<std::string, int64_t> transitions;              // "APPROVE->CHALLENGE" -> count
  std::map<std::string, int64_t> rule_hits;                // rule_id -> hits under the new rules
  std::map<std::string, int64_t> logged_rule_hits;         // rule_id -> hits in the log
  std::vector<std::pair<std::string, int64_t>> top_users;  // most changed charges first
  std::vector<ChangedCharge> sample;
};

class Replayer {
 public:
  // REQUIRES: policy != nullptr.
  Replayer(std::shared_ptr<const Policy> policy, ReplayOptions options);

  // Decides `entry` again, at its time.
  void Replay(const DecisionLogEntry& entry);
  // The report of everything replayed so far.
  ReplayReport Finish() const;

 private:
  // A mandate of the log, as the replaying engine knows it.
  struct ReplayedMandate {
    std::string mandate_id;  // the replaying engine's id for it
    MandateStatus status = MandateStatus::kActive;
  };

  void ReplayCharge(const DecisionLogEntry& entry);
  void ReplayMandate(const Mandate& logged, int64_t time_ms);
  void Refused(absl::string_view what, const absl::Status& status);

  FakeClock clock_{0};
  AuthorizeRequest request_;               // the charge being replayed
  int64_t expired_at_ms_ = INT64_MIN / 2;  // when records were last expired, by the log
  size_t expiry_part_ = 0;
  std::unique_ptr<Engine> engine_;
  ReplayOptions options_;
  absl::flat_hash_map<std::string, ReplayedMandate> mandates_;  // by the log's mandate_id
  absl::flat_hash_map<std::string, int64_t> changed_by_user_;
  absl::flat_hash_map<const Reason*, int64_t> hits_;         // under the new rules
  absl::flat_hash_map<const Reason*, int64_t> logged_hits_;  // in the log
  ReplayReport report_;
};

}  // namespace vigil::replay
