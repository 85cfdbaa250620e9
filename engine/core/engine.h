#pragma once

// Engine is Vigil's decision core: it holds every user's state (profile, mandates, calendar
// usage, velocity windows) in memory, answers Authorize with the current Policy, and applies
// every change that mandates, profiles and outcomes make. It does no I/O and reads time only
// from the Clock it is given.
//
//   FakeClock clock(now_ms);
//   std::unique_ptr<Engine> engine = Engine::Create(std::move(policy), &clock, EngineOptions{});
//   absl::StatusOr<AuthorizeResponse> response = engine->Authorize(request);
//
// Thread-safe. State is sharded by user id and each call takes the lock of one user's shard
// (plus, briefly, the shard of the index it consults), so calls for different users rarely
// contend and there is no global lock. For one user, deciding and reserving happen under one
// lock: concurrent charges can never together exceed a limit.
//
// Cost: Authorize for a known user allocates two blocks for its idempotency record (the record
// and its ids) and, when rules fire, the reasons of its answer; it is O(rules + recent events, or
// window buckets for a busy subject). Under 2 µs median across 1M users, about 450 bytes of state
// per user (bench/RESULTS.md).
//
// This header is the contract, as an interface; how the engine keeps its state is in
// engine_impl.h (EngineImpl, which Create makes) and the files it names.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/core/clock.h"
#include "engine/core/journal.h"
#include "engine/core/policy.h"
#include "engine/core/types.h"

namespace vigil {

struct EngineOptions {
  // Use AuthorizeRequest::event_time_ms (when > 0) as the transaction's time instead of the
  // clock. For replays and tests only: a client could otherwise choose its own windows.
  bool trust_client_time = false;
  // Seeds the ids the engine mints (mandates, decisions); give each process its own.
  uint64_t id_seed = 0;
  // Where changes become durable; nullptr keeps state in memory only. Must outlive the engine.
  Journal* journal = nullptr;
};

class Engine {
 public:
  // REQUIRES: policy != nullptr; clock outlives the engine.
  static std::unique_ptr<Engine> Create(std::shared_ptr<const Policy> policy, const Clock* clock,
                                        EngineOptions options);
  virtual ~Engine() = default;
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Decides whether a charge may go through without a password and, on APPROVE, reserves its
  // amount in every limit and window. The same transaction_id again returns the first answer
  // and changes nothing. INVALID_ARGUMENT for a malformed request; ALREADY_EXISTS for a known
  // transaction_id with a different user, merchant, amount or currency.
  virtual absl::StatusOr<AuthorizeResponse> Authorize(const AuthorizeRequest& request) = 0;
  // The same, without waiting for durability on this thread: `done` gets the answer once it is
  // durable, here or later on the journal's thread. For servers, whose threads should decide
  // other calls meanwhile. `done` must not block. `request` is not read once this returns.
  using AuthorizeCallback = absl::AnyInvocable<void(absl::StatusOr<AuthorizeResponse>) &&>;
  virtual void Authorize(const AuthorizeRequest& request, AuthorizeCallback done) = 0;

  // Records what happened to an authorized charge. FAILED and REVERSED release an approved
  // amount (once); STRONG_AUTH_PASSED resets the failure count and reactivates the mandate;
  // STRONG_AUTH_FAILED counts a failure. NOT_FOUND for an unknown transaction_id.
  //
  // The outcome happened at `event_time_ms` when the engine trusts client time, or at the
  // transaction's time when that is 0; otherwise at the clock's time. A reactivated mandate
  // counts as used then.
  virtual absl::Status ReportOutcome(absl::string_view transaction_id, Outcome outcome,
                                     int64_t event_time_ms) = 0;
  absl::Status ReportOutcome(absl::string_view transaction_id, Outcome outcome) {
    return ReportOutcome(transaction_id, outcome, 0);
  }

  // Grants a mandate. The same request_id with the same content returns the same mandate;
  // with other content, ALREADY_EXISTS. FAILED_PRECONDITION without explicit consent or where
  // the policy forbids; INVALID_ARGUMENT for malformed fields or limits above the policy caps.
  virtual absl::StatusOr<Mandate> GrantMandate(const GrantMandateRequest& request) = 0;
  // NOT_FOUND for an unknown mandate.
  virtual absl::StatusOr<Mandate> GetMandate(absl::string_view mandate_id) = 0;
  // Every mandate of the user, oldest first; revoked ones only when asked.
  virtual absl::StatusOr<std::vector<Mandate>> ListMandates(absl::string_view user_id,
                                                            bool include_revoked) = 0;
  // NOT_FOUND for an unknown mandate, PERMISSION_DENIED when user_id does not own it.
  // Revoking a revoked mandate returns it unchanged.
  virtual absl::StatusOr<Mandate> RevokeMandate(absl::string_view mandate_id,
                                                absl::string_view user_id,
                                                absl::string_view reason) = 0;
  // As RevokeMandate; FAILED_PRECONDITION for a revoked or expired mandate.
  virtual absl::StatusOr<Mandate> PauseMandate(absl::string_view mandate_id,
                                               absl::string_view user_id) = 0;
  virtual absl::StatusOr<Mandate> ResumeMandate(absl::string_view mandate_id,
                                                absl::string_view user_id) = 0;
  // Revokes every mandate of the user that is not revoked yet and returns those it revoked.
  virtual absl::StatusOr<std::vector<Mandate>> RevokeAllMandates(absl::string_view user_id,
                                                                 absl::string_view reason) = 0;

  // Creates or replaces a profile. INVALID_ARGUMENT for a malformed field or caps above the
  // policy's for the user's segment.
  virtual absl::StatusOr<UserProfile> PutUserProfile(const UserProfile& profile) = 0;
  // NOT_FOUND when the user has no profile.
  virtual absl::StatusOr<UserProfile> GetUserProfile(absl::string_view user_id) = 0;

  // Loads what a journal restored. REQUIRES: called before any other call, once.
  // INVALID_ARGUMENT for a record that cannot be restored (the store is damaged).
  virtual absl::Status Restore(const RestoredState& state) = 0;

  // Forgets idempotency records of charges decided before `before_ms` by the engine's clock,
  // whatever time a trusted client gave the charge (a retry after that is decided afresh), and
  // those of grants made before it (a grant's request_id sent again after that grants anew).
  // Returns how many were forgotten.
  //
  // With `parts` > 1 it walks only part `part` (0 <= part < parts) of the records, so that a
  // sweeper can spread one pass over time: a pass over every record at once keeps a core busy
  // for about 20 ms per million records, and the calls queued behind it wait.
  // INVALID_ARGUMENT when `part` is not below `parts`.
  virtual absl::StatusOr<size_t> ExpireTransactions(int64_t before_ms, size_t part,
                                                    size_t parts) = 0;
  absl::StatusOr<size_t> ExpireTransactions(int64_t before_ms) {
    return ExpireTransactions(before_ms, 0, 1);
  }

  // The scans behind the notices users get unasked (engine/core/notice.h), which the server
  // runs on its timers, passing the time. Each walks every user, holding a user shard for a few
  // of its users at a time, journals a notice for each finding with the user's shard held (so
  // it is in order with the user's other changes), writes `mark` with the last of them, and
  // returns once everything is durable: how many notices it made. FAILED_PRECONDITION without a journal (there is no
  // outbox); UNIMPLEMENTED where the engine does not hold every user.
  struct ScanMark {
    std::string name;
    int64_t value = 0;
  };
  // Each active mandate whose idle time reached the policy's dormant_after, and each mandate
  // not revoked whose end came within the policy's expiring_within, at a moment in
  // (since_ms, now_ms]: MANDATE_DORMANT and MANDATE_EXPIRING. Scans over consecutive intervals
  // report each mandate once for each time it goes dormant and once before it ends.
  virtual absl::StatusOr<size_t> ScanMandates(int64_t since_ms, int64_t now_ms,
                                              const ScanMark& mark) = 0;
  // A PERIODIC_SUMMARY of local month `month` (LocalCalendar::MonthNumber) for every user with
  // a payment approved in it or a mandate in force at `now_ms`: the approved amount and count,
  // less released amounts, by merchant, and the mandates in force with their last use. `month`
  // must be the current month or the one before, the only ones the engine keeps totals of.
  virtual absl::StatusOr<size_t> SummarizeMonth(int64_t month, int64_t now_ms,
                                                const ScanMark& mark) = 0;

  // How many records the engine holds, for an operator sizing its memory. Locks each shard in
  // turn, briefly: for a scrape, not for the hot path.
  struct RecordCounts {
    size_t users = 0;
    size_t transactions = 0;  // idempotency records
    size_t grants = 0;        // grant idempotency records (request_id)
  };
  virtual RecordCounts CountRecords() = 0;

  // With a journal, every call that changes state makes the change durable before it returns
  // OK; while the journal cannot write, such calls return UNAVAILABLE and change nothing, and
  // reads keep working.

  // The policy deciding calls that start now.
  virtual std::shared_ptr<const Policy> policy() const = 0;
  // Makes `policy` decide every call that starts from now on; calls in flight finish on the
  // policy they started with. Velocity windows that both policies read keep their counts;
  // windows only the new one reads start empty. REQUIRES: policy != nullptr.
  virtual void SetPolicy(std::shared_ptr<const Policy> policy) = 0;

 protected:
  Engine() = default;
};

}  // namespace vigil
