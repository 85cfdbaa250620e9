#pragma once

// EngineImpl is how Engine (engine/core/engine.h, the contract) keeps and changes its state.
// Each job has its own file:
//
//   user_state.h         a user's state and the sharded tables of users, devices and merchants
//   mandate_book.h       stored mandates, which one a charge draws on, the owner index
//   idempotency.h        the transaction and grant records, with their sweeps
//   id_mint.h            mandate and decision ids
//   policy_slot.h        the policy, handed to each thread
//   snapshot.h           state as a journal's records, and back
//   mandate_invariant.h  no APPROVE without a usable mandate
//
// Here: Authorize as named steps, outcomes, restore and the sweep (engine_impl.cc); the mandate
// lifecycle and profiles (engine_mandates.cc); the scans for notices (engine_notices.cc); records
// replaced by a shared state's, for SharedEngine (engine_install.cc). Locking and journalling stay
// in the calls themselves, where their order can be read.
//
// Lock order: a user's shard, then a device's, then a merchant's, then a transaction, grant or
// owner-index shard. A decision holds its user's, device's and merchant's shards throughout, so
// that checking and recording are one step for each.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/core/id_mint.h"
#include "engine/core/idempotency.h"
#include "engine/core/journal.h"
#include "engine/core/mandate_book.h"
#include "engine/core/policy.h"
#include "engine/core/policy_slot.h"
#include "engine/core/types.h"
#include "engine/core/user_state.h"

namespace vigil {

class EngineImpl final : public Engine {
 public:
  EngineImpl(std::shared_ptr<const Policy> policy, const Clock* clock, EngineOptions options);

  // Engine's contract (engine.h).
  absl::StatusOr<AuthorizeResponse> Authorize(const AuthorizeRequest& request) override;
  void Authorize(const AuthorizeRequest& request, Engine::AuthorizeCallback done) override;
  using Engine::ReportOutcome;
  absl::Status ReportOutcome(absl::string_view transaction_id, Outcome outcome,
                             int64_t event_time_ms) override;
  absl::StatusOr<Mandate> GrantMandate(const GrantMandateRequest& request) override;
  absl::StatusOr<Mandate> GetMandate(absl::string_view mandate_id) override;
  absl::StatusOr<std::vector<Mandate>> ListMandates(absl::string_view user_id,
                                                    bool include_revoked) override;
  absl::StatusOr<Mandate> RevokeMandate(absl::string_view mandate_id, absl::string_view user_id,
                                        absl::string_view reason) override;
  absl::StatusOr<Mandate> PauseMandate(absl::string_view mandate_id,
                                       absl::string_view user_id) override;
  absl::StatusOr<Mandate> ResumeMandate(absl::string_view mandate_id,
                                        absl::string_view user_id) override;
  absl::StatusOr<std::vector<Mandate>> RevokeAllMandates(absl::string_view user_id,
                                                         absl::string_view reason) override;
  absl::StatusOr<UserProfile> PutUserProfile(const UserProfile& profile) override;
  absl::StatusOr<UserProfile> GetUserProfile(absl::string_view user_id) override;
  absl::Status Restore(const RestoredState& state) override;
  using Engine::ExpireTransactions;
  absl::StatusOr<size_t> ExpireTransactions(int64_t before_ms, size_t part, size_t parts) override;
  Engine::RecordCounts CountRecords() override;
  absl::StatusOr<size_t> ScanMandates(int64_t since_ms, int64_t now_ms,
                                      const ScanMark& mark) override;
  absl::StatusOr<size_t> SummarizeMonth(int64_t month, int64_t now_ms,
                                        const ScanMark& mark) override;
  std::shared_ptr<const Policy> policy() const override { return policy_.Get(); }
  void SetPolicy(std::shared_ptr<const Policy> policy) override { policy_.Set(std::move(policy)); }

  // For SharedEngine (shared_engine.h), which keeps this engine's records in step with the
  // shared state: each replaces what this engine holds with the stored record, or forgets it.
  // INVALID_ARGUMENT for a record that cannot be restored.
  absl::Status InstallUser(const UserSnapshot& user);
  // Empties a user's state: the next call for them starts from nothing.
  void ResetUser(absl::string_view user_id);
  void InstallTransaction(const TransactionSnapshot& transaction);
  void ForgetTransaction(absl::string_view transaction_id);
  // The user of a decided record this engine holds; none if it holds none.
  std::optional<std::string> TransactionUser(absl::string_view transaction_id);
  void InstallGrant(const GrantSnapshot& grant);
  void ForgetGrant(absl::string_view request_id);

 private:
  // What a charge holds once it has claimed its transaction id: the pending record, the
  // user's state and the mandate it draws on.
  struct Claim {
    TransactionRecord* record = nullptr;
    UserState* user = nullptr;
    MandateState* mandate = nullptr;
    MandateMatch match = MandateMatch::kNone;
    std::string decision_id;
  };
  // The device's and merchant's windows a decision reads, locked for its whole length; null
  // where the policy reads none or the charge names no device.
  struct HeldSubjects {
    std::optional<absl::MutexLock> device_lock;
    std::optional<absl::MutexLock> merchant_lock;
    SubjectWindows* device = nullptr;
    SubjectWindows* merchant = nullptr;
  };
  // What the rules read. Facts points into the rest, so it stays where it was built.
  struct Inputs {
    UserProfile profile;  // numbers and flags only
    absl::InlinedVector<WindowReading, 16> readings;
    Facts facts;
  };

  // Authorize up to durability: decides, records, queues the change and sets `sequence` to the
  // journal sequence the answer must wait for.
  absl::StatusOr<AuthorizeResponse> Decide(const AuthorizeRequest& request, uint64_t& sequence);
  // Decide's steps, in order.
  // The answer to a transaction_id seen before: its first answer, or ALREADY_EXISTS for another
  // charge. REQUIRES: the transaction's shard and the request's user's shard held.
  absl::StatusOr<AuthorizeResponse> AnswerRetry(const AuthorizeRequest& request,
                                                const TransactionRecord& record,
                                                uint64_t& sequence);
  // Inserts a pending record for a new transaction id, after resolving the mandate it draws on.
  // REQUIRES: the user's shard and the transaction's shard held.
  Claim ClaimTransaction(UserShard& shard, TransactionTable::Shard& txn_shard,
                         const TransactionKey& key, const AuthorizeRequest& request,
                         uint64_t merchant_hash, int64_t now_ms);
  // Locks, in the lock order, the device's and merchant's windows the policy reads.
  void LockSubjects(const WindowLayout& layout, const AuthorizeRequest& request,
                    HeldSubjects& held);
  void GatherFacts(const AuthorizeRequest& request, const Policy& policy, int64_t now_ms,
                   const Claim& claim, const HeldSubjects& subjects, Inputs& inputs);
  // Records the charge in every window it was read from and, when approved, reserves its
  // amount in the user's and mandate's calendar periods.
  void Reserve(const AuthorizeRequest& request, const Policy& policy, int64_t now_ms,
               uint64_t merchant_hash, bool approved, const Claim& claim,
               const HeldSubjects& subjects);
  static AuthorizeResponse Answer(const Verdict& verdict, const Claim& claim, const Policy& policy);
  // Fills the claimed record with the decision. REQUIRES: the transaction's shard held.
  void Settle(TransactionRecord& record, const AuthorizeRequest& request, const Verdict& verdict,
              const Policy& policy, int64_t now_ms);
  // The change a decision journals. REQUIRES: the shards Decide holds.
  StateChange DecisionChange(const AuthorizeRequest& request, const AuthorizeResponse& response,
                             const TransactionRecord& record, const UserState& user,
                             const HeldSubjects& subjects, int64_t now_ms) const;

  int64_t EventTime(const AuthorizeRequest& request) const;
  // Age on the decision date in the policy's calendar; none without a birth date.
  static std::optional<int> AgeAt(const std::optional<absl::CivilDay>& birth_date,
                                  const Policy& policy, int64_t now_ms);
  // Applies `change` to a mandate that `user_id` owns, under the owner's lock, and returns the
  // mandate as it is after. NOT_FOUND, PERMISSION_DENIED, or the status `change` returns.
  template <typename Change>
  absl::StatusOr<Mandate> ChangeMandate(absl::string_view mandate_id, absl::string_view user_id,
                                        Change change);
  // What `outcome` does to the user of `record`: releases an approval (FAILED, REVERSED; once),
  // resets the counters since strong authentication and wakes the mandate (STRONG_AUTH_PASSED)
  // or counts a failure. Returns whether the approval was released. REQUIRES: the user's shard
  // held.
  bool ApplyOutcome(UserState& state, const TransactionRecord& record, Outcome outcome,
                    const Policy& policy, int64_t now_ms, StateChange& change);
  // Takes an approval back everywhere it was counted; appends the device and merchant windows
  // it changed to `change`.
  void Release(UserState& state, const TransactionRecord& record, const Policy& policy,
               StateChange& change);

  bool journaled() const { return options_.journal != nullptr; }
  // Logs a granted or changed mandate, as it now is, with `change` (with a journal only).
  void LogMandate(const Mandate& mandate, int64_t now_ms, StateChange& change) const;
  // Runs `find` on each user, a few users of a shard at a time with the shard held, and
  // journals the notices it adds for them, durable before the next few; then `mark`. A user
  // added while a scan runs may be missed by it. For the notice scans (engine_notices.cc).
  absl::StatusOr<size_t> ScanUsers(
      const ScanMark& mark,
      absl::FunctionRef<void(absl::string_view user_id, const UserState& state,
                             std::vector<Notice>& notices)>
          find);
  // Appends `change` to the journal (if any) and returns its sequence; 0 without a journal.
  uint64_t Append(StateChange change);
  // The sequence of the last change queued; 0 without a journal.
  uint64_t LastSequence() const;
  // Waits until `sequence` is durable; OK without a journal.
  absl::Status Durable(uint64_t sequence);
  // Waits until `sequence` is durable, but answers anyway if the journal cannot write.
  void AwaitVisible(uint64_t sequence);
  // UNAVAILABLE while the journal cannot write; OK otherwise.
  absl::Status Writable() const;

  const Clock* const clock_;
  const EngineOptions options_;
  IdMint ids_;
  PolicySlot policy_;

  UserTable users_;
  SubjectTable devices_;
  SubjectTable merchants_;
  TransactionTable transactions_;
  GrantTable grants_;
  MandateOwners mandate_owners_;
};

}  // namespace vigil
