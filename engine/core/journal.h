#pragma once

// Journal is where the engine's state changes go to become durable, and the state they restore.
// The engine stays the one place decisions are made (in memory, under per-user locks); every
// call that changes state describes the result as a StateChange, appends it while still holding
// the locks — so the journal's order is the order the changes happened — and answers only once
// the journal says it is durable.
//
// Implementations: RocksDbStore (engine/store/), the embedded default; MemoryJournal
// (engine/store/), which keeps what a store would recover, for tests. Both pass the one
// conformance suite, tests/engine/store/journal_conformance_test.cc, which states the contract
// below as tests.
//
// Thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/core/notice.h"
#include "engine/core/period_usage.h"
#include "engine/core/subject_windows.h"
#include "engine/core/types.h"

namespace vigil {

struct MandateSnapshot {
  Mandate mandate;
  PeriodUsage::Saved day;
  PeriodUsage::Saved month;
  PeriodUsage::Saved previous_month{};  // the month before `month`
  SubjectWindows::Saved windows;
};

// Everything the engine knows about one user.
struct UserSnapshot {
  std::string user_id;
  std::optional<UserProfile> profile;
  std::vector<MandateSnapshot> mandates;
  SubjectWindows::Saved windows;
  PeriodUsage::Saved day;
  int64_t strong_auth_failures = 0;
  int64_t approvals_since_strong_auth = 0;
  int64_t attempts_since_strong_auth = 0;
};

// The velocity windows of a device or a merchant.
struct SubjectSnapshot {
  Subject subject = Subject::kDevice;
  std::string id;
  SubjectWindows::Saved windows;
};

// An Authorize's idempotency record.
struct TransactionSnapshot {
  std::string transaction_id;
  std::string user_id;
  std::string merchant_id;
  int64_t amount_minor = 0;
  std::string currency;
  std::string device_id;
  std::string mandate_id;
  int64_t time_ms = 0;
  // When the engine decided it, by its own clock: what the retention counts from. 0 in records
  // saved before it was kept; time_ms stands in.
  int64_t seen_ms = 0;
  bool approved = false;
  bool released = false;
  std::optional<Outcome> outcome;
  AuthorizeResponse response;
};

struct GrantSnapshot {
  GrantMandateRequest request;
  std::string mandate_id;
  int64_t seen_ms = 0;  // when the engine granted it, by its clock
};

// One line of the decision log: an Authorize with its inputs and answer, an outcome, or a
// change to what decides a user's charges (a mandate, a profile). Replaying the log in order
// (tools/vigil_replay) decides every charge again.
struct DecisionLogEntry {
  int64_t time_ms = 0;
  std::string transaction_id;
  std::optional<AuthorizeRequest> request;    // set for an Authorize
  std::optional<AuthorizeResponse> response;  // set for an Authorize
  std::optional<Outcome> outcome;             // set for a ReportOutcome
  std::optional<Mandate> mandate;             // a granted or changed mandate, as it now is
  std::optional<UserProfile> profile;         // a profile put, as stored
};

// The state after one call, as whole records: applying changes in order reproduces the state.
struct StateChange {
  std::vector<UserSnapshot> users;
  std::vector<SubjectSnapshot> subjects;
  std::vector<TransactionSnapshot> transactions;
  std::vector<std::string> expired_transactions;  // idempotency records past retention
  std::vector<GrantSnapshot> grants;
  std::vector<std::string> expired_grants;  // grant request_ids past retention
  std::vector<DecisionLogEntry> log;
  // What users are told of this change: durable exactly when the change is.
  std::vector<Notice> notices;
  // Progress marks of the server's scans (NoticeOutbox::ReadMark), set with what they found.
  std::vector<std::pair<std::string, int64_t>> marks;
};

// What a journal restores at start.
struct RestoredState {
  std::vector<UserSnapshot> users;
  std::vector<SubjectSnapshot> subjects;
  std::vector<TransactionSnapshot> transactions;
  std::vector<GrantSnapshot> grants;
};

class Journal {
 public:
  virtual ~Journal() = default;

  // What was made durable, as a restarted process restores it: for each user, subject,
  // transaction and grant, the last record of it appended (less the expired ones). A change
  // acknowledged durable is always in it; one whose durability failed may or may not be.
  // DATA_LOSS for a record that cannot be read.
  virtual absl::StatusOr<RestoredState> Load() = 0;

  // OK while changes can be made durable. UNAVAILABLE (with the reason, e.g. a full disk) while
  // they cannot: the engine then refuses every change before making it, and reads keep working.
  virtual absl::Status Ready() const = 0;
  // Queues `change` after every change queued before it and returns its sequence number.
  // Called with engine locks held: must not block on I/O.
  virtual uint64_t Append(StateChange change) = 0;
  // The sequence number of the last change queued.
  virtual uint64_t LastSequence() const = 0;
  // Blocks until every change up to `sequence` is durable. UNAVAILABLE if writing failed.
  virtual absl::Status WaitDurable(uint64_t sequence) = 0;

  // Without blocking: calls `done`, exactly once, with what WaitDurable(sequence) would return,
  // once it is known — at once on this thread, or later on a thread of the journal's. `done`
  // must not block. This default waits; a journal that writes in the background overrides it.
  using DurableCallback = absl::AnyInvocable<void(absl::Status) &&>;
  virtual void WhenDurable(uint64_t sequence, DurableCallback done) {
    std::move(done)(WaitDurable(sequence));
  }
};

}  // namespace vigil
