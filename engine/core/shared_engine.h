#pragma once

// SharedEngine is an Engine whose users live in a SharedState, so that several engines (vigild
// nodes) can serve the same users at once and together never exceed a limit. It decides exactly
// as one engine does, with an EngineImpl that holds the users it has seen, and makes every
// change a compare-and-set on the user's stored record:
//
//   1. a charge claims its transaction id across users: the claim is sent first, and answered
//      while the charge waits for its user and is decided. When the id is another user's the
//      answer is ALREADY_EXISTS, and a charge stored under it for this user is released as
//      failed;
//   2. the user's record is read, unless this node holds the current one;
//   3. the EngineImpl decides, and the change it makes is captured rather than journalled;
//   4. the change is committed on top of the record it was decided on. When another node
//      changed the user meanwhile, the stored record replaces this node's and the call is
//      decided again; an answer is given only once its change is stored.
//
// A node that holds a user's current record (the usual case when a load balancer keeps a user
// on one node) waits for one round trip a charge, its commit; the claim's is under way
// meanwhile. Calls for one user are serialized on a node: each user maps to one of 4,096 lock
// stripes, held across the read and the commit, so a call waits only for calls of users of its
// stripe; the rest proceed and share the round trips. Charges that arrive while their stripe
// is busy queue, and are decided together when it frees: each user's in one commit, as a
// journal's group commit does, so that a user with many charges at once is not held to one a
// round trip. When another node has the user's turn (see RedisSharedState), the call lets its
// stripe go while it waits. When the store cannot be reached the call is UNAVAILABLE, and the
// user's record is read again on the next call: nothing is approved on a record the store did
// not confirm.
//
// The notices a call makes are committed with its change, into the shared state's outbox; the
// notice scans read every user from the shared state.
//
// What stays on each node: device and merchant velocity windows (each node counts the charges
// it decided), the decision log (in the node's journal, if any) and the sweep of its own
// idempotency records; the store expires its records itself.
//
// Thread-safe. Calls block for their round trips, except the callback Authorize, which hands
// the call to a pool of the engine's own threads (`workers` of them) and returns at once: a
// server's transport threads go on to other calls while it waits.

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "engine/core/engine.h"
#include "engine/core/engine_impl.h"
#include "engine/core/shared_state.h"
#include "engine/core/worker_pool.h"

namespace vigil {

class SharedEngine final : public Engine {
 public:
  // REQUIRES: policy != nullptr; clock, state and options.journal (the decision log's, may be
  // null) outlive the engine.
  static std::unique_ptr<SharedEngine> Create(std::shared_ptr<const Policy> policy,
                                              const Clock* clock, EngineOptions options,
                                              SharedState* state, int workers = 64);
  ~SharedEngine() override;

  absl::StatusOr<AuthorizeResponse> Authorize(const AuthorizeRequest& request) override;
  void Authorize(const AuthorizeRequest& request, AuthorizeCallback done) override;
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
  // State comes from the shared state, a user at a time: nothing to restore. OK.
  absl::Status Restore(const RestoredState& state) override;
  using Engine::ExpireTransactions;
  // This node's records only; the shared state expires its own.
  absl::StatusOr<size_t> ExpireTransactions(int64_t before_ms, size_t part, size_t parts) override;
  RecordCounts CountRecords() override;
  // Over every user in the shared state, as stored: each scan reads them all (no lock of this
  // node's is held meanwhile) and stores its notices in the shared outbox. Run by one node at a
  // time (NoticeOutbox::AcquireScans).
  absl::StatusOr<size_t> ScanMandates(int64_t since_ms, int64_t now_ms,
                                      const ScanMark& mark) override;
  absl::StatusOr<size_t> SummarizeMonth(int64_t month, int64_t now_ms,
                                        const ScanMark& mark) override;
  std::shared_ptr<const Policy> policy() const override;
  void SetPolicy(std::shared_ptr<const Policy> policy) override;

  // Commits refused because another node changed the user first, and decided again.
  uint64_t conflicts() const { return conflicts_.load(std::memory_order_relaxed); }

 private:
  class CaptureJournal;
  class FloorClock;
  // A charge waiting for its stripe, in the stripe's queue.
  struct Charge {
    explicit Charge(const AuthorizeRequest* request) : request(request) {}
    const AuthorizeRequest* const request;
    absl::StatusOr<AuthorizeResponse> answer;  // UNKNOWN until decided
    bool done = false;                         // answered (by whichever charge led its batch)
    bool lead = false;                         // to lead the next batch
  };
  // The users of one lock stripe: the tokens of the records this node holds as current.
  struct Stripe {
    absl::Mutex mu;
    absl::flat_hash_map<std::string, SharedState::UserRecord> known ABSL_GUARDED_BY(mu);
    // Charges queue here while a batch of the stripe's charges is being decided and committed;
    // the next batch is all of them, each user's committed at once (one round trip a user).
    absl::Mutex queue_mu;  // never held with mu
    std::vector<Charge*> queue ABSL_GUARDED_BY(queue_mu);
    bool leading ABSL_GUARDED_BY(queue_mu) = false;  // a charge is leading a batch
  };
  static constexpr size_t kStripes = 4096;
  // How a call's records are written.
  enum class Writes { kNew, kUpdate };

  SharedEngine(const Clock* clock, EngineOptions options, SharedState* state);
  Stripe& StripeFor(absl::string_view user_id);
  // Runs `call` for `user_id` on its current record and commits the change it makes; decides
  // again after a conflict. `fresh`: read the record even if this node holds one (for reads,
  // which commit nothing and would otherwise answer from what this node last saw).
  template <typename T>
  absl::StatusOr<T> Serialized(absl::string_view user_id, Writes writes, bool fresh,
                               absl::FunctionRef<absl::StatusOr<T>()> call);
  // Serialized's work, for a caller that holds the user's stripe (let go while the call waits
  // for another node's turn).
  template <typename T>
  absl::StatusOr<T> DecideAndCommit(Stripe& stripe, absl::string_view user_id, Writes writes,
                                    bool fresh, absl::FunctionRef<absl::StatusOr<T>()> call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(stripe.mu);
  // Decides and commits the charges queued on `stripe` (the calling charge's among them), then
  // answers them and hands the lead to the next charge queued, if any.
  void LeadBatch(Stripe& stripe);
  // Reads the user's record into this node. REQUIRES: the user's stripe held.
  absl::Status Load(Stripe& stripe, absl::string_view user_id);
  // Replaces what this node holds with what a refused commit found stored.
  absl::Status Install(Stripe& stripe, absl::string_view user_id,
                       const SharedState::Conflict& conflict, const SharedState::Write& commit);
  // Forgets what this node holds of a user whose commit's fate is unknown.
  void Forget(Stripe& stripe, absl::string_view user_id, const SharedState::Write& commit);
  // Makes sure this node holds `transaction_id`'s record, if `user_id` has one stored.
  absl::Status LoadTransaction(absl::string_view user_id, absl::string_view transaction_id);
  // A token no other commit, of this node or another, has used: writer_ and a count.
  std::string NewToken();
  // A scan: `find` on each user stored, its notices stored a batch of users at a time, then
  // `mark`.
  absl::StatusOr<size_t> ScanStoredUsers(
      const ScanMark& mark,
      absl::FunctionRef<void(absl::string_view, const UserState&, std::vector<Notice>&)> find);

  const Clock* const clock_;
  const EngineOptions options_;
  // This engine's name as a writer: its id seed, in hex.
  const std::string writer_;
  SharedState* const state_;
  std::unique_ptr<CaptureJournal> capture_;
  std::unique_ptr<FloorClock> floor_clock_;
  std::unique_ptr<EngineImpl> local_;
  std::unique_ptr<std::array<Stripe, kStripes>> stripes_;
  // Declared last: destroyed first, finishing the calls it runs while the rest still exists.
  std::unique_ptr<WorkerPool> workers_;
  std::atomic<uint64_t> tokens_{0};
  std::atomic<uint64_t> conflicts_{0};
};

}  // namespace vigil
