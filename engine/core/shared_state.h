#pragma once

// SharedState is where engines on several machines keep the users they all serve, so that they
// decide against the same limits (on Redis Cluster: engine/store/redis_shared_state.h). Each
// user's record carries a token that every commit replaces; an engine commits a change only on
// top of the record it decided on (compare-and-set), and otherwise gets back what is stored, to
// decide again. The idempotency records of a user's calls live beside the user and are written
// in the same commit, and so are the notices the call makes: a notice is stored exactly when
// its change is. The store keeps them in an outbox that every engine sharing it reads
// (NoticeOutbox), in each user's order. A charge's transaction id is also claimed across users, so
// that one id never serves two users' charges; the claim is sent ahead, and travels while the
// charge is decided and committed.
//
//   std::shared_ptr<SharedState::Claim> claim = state.StartClaim("t-7", "u-42");
//   SharedState::UserRecord stored = *state.ReadUser("u-42");          // token "" if none yet
//   ... decide on stored.user ...
//   std::optional<SharedState::Conflict> refused = *state.Commit(write);  // nullopt: done
//   absl::Status claimed = claim->Wait();                                // ALREADY_EXISTS: ...
//
// Thread-safe. Calls block for a round trip to the store; UNAVAILABLE when it cannot be reached,
// and then a commit may or may not have been applied (a later read tells).

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "engine/core/journal.h"
#include "engine/core/notice.h"

namespace vigil {

class SharedState {
 public:
  struct UserRecord {
    std::string token;  // empty: nothing stored for the user yet
    std::optional<UserSnapshot> user;
    // The latest time any engine decided for the user at: the next decision is never dated
    // before it, whichever engine's clock is behind.
    int64_t time_floor_ms = 0;
  };
  // A call's result, replacing the user's record whose token is `base_token`.
  struct Write {
    // Who writes: the engine's own id, the same for all its writes. A store may use it to
    // take turns between engines that keep refusing each other's commits.
    std::string writer;
    std::string user_id;
    std::string base_token;
    std::string new_token;
    UserSnapshot user;
    int64_t time_floor_ms = 0;
    // Idempotency records written with it. A charge's record is new (it must not exist yet);
    // an outcome updates one that exists. A grant's record is always new.
    struct TransactionWrite {
      TransactionSnapshot record;
      bool must_be_new = true;
    };
    std::vector<TransactionWrite> transactions;
    std::vector<GrantSnapshot> grants;
    // What the user is told of the change: stored if and only if the change is.
    std::vector<Notice> notices;
  };
  // Why a commit was refused (the user's token moved, or a record that had to be new exists):
  // what is stored now, for the user and for each record the write named, in its order.
  struct Conflict {
    UserRecord user;
    // How long another writer has the user to itself (see Write::writer): a commit before then
    // is refused whatever it is based on. Zero when no other writer has.
    absl::Duration others_turn = absl::ZeroDuration();
    std::vector<std::optional<TransactionSnapshot>> transactions;
    std::vector<std::optional<GrantSnapshot>> grants;
  };
  // The answer to a claim (StartClaim), once the store gives it.
  class Claim {
   public:
    // Waits for it: OK when the id is the user's (new, or already theirs), ALREADY_EXISTS when
    // it is another user's, UNAVAILABLE when the store did not say.
    absl::Status Wait() {
      done_.WaitForNotification();
      return status_;
    }
    // The store's answer. Once.
    void Answer(absl::Status status) {
      status_ = std::move(status);
      done_.Notify();
    }

   private:
    absl::Notification done_;
    absl::Status status_;
  };

  virtual ~SharedState() = default;

  virtual absl::StatusOr<UserRecord> ReadUser(absl::string_view user_id) = 0;
  // The idempotency record of `transaction_id`, kept with `user_id`'s; none if it has none.
  virtual absl::StatusOr<std::optional<TransactionSnapshot>> ReadTransaction(
      absl::string_view user_id, absl::string_view transaction_id) = 0;
  // Claims `transaction_id` for `user_id` across users, for as long as idempotency records are
  // kept, and returns at once: the claim is answered while the caller goes on.
  virtual std::shared_ptr<Claim> StartClaim(absl::string_view transaction_id,
                                            absl::string_view user_id) = 0;
  // The user a transaction id was claimed for. NOT_FOUND when none (or it expired).
  virtual absl::StatusOr<std::string> TransactionOwner(absl::string_view transaction_id) = 0;
  // The index of mandates by id, for reads that name only the mandate.
  virtual absl::Status SetMandateOwner(absl::string_view mandate_id, absl::string_view user_id) = 0;
  // NOT_FOUND for an unknown mandate.
  virtual absl::StatusOr<std::string> MandateOwner(absl::string_view mandate_id) = 0;

  // Writes `write` if the user's token is still `write.base_token` and every record that must
  // be new is; otherwise writes nothing and returns what is stored. nullopt: written.
  virtual absl::StatusOr<std::optional<Conflict>> Commit(const Write& write) = 0;

  // For the notice scans, which read every user and change none.
  //
  // Calls `batch` with every user stored, some at a time, until it returns an error, which is
  // then returned. A user changed meanwhile is seen before or after the change.
  virtual absl::Status ForEachUser(
      absl::FunctionRef<absl::Status(const std::vector<UserSnapshot>& users)> batch) = 0;
  // Adds notices that no change of their users carries (what a scan found) to the outbox, each
  // after its user's notices so far. OK once all are stored.
  virtual absl::Status Notify(std::vector<Notice> notices) = 0;
  // Sets a scan's mark (NoticeOutbox::ReadMark), durably.
  virtual absl::Status SetMark(absl::string_view name, int64_t value) = 0;
};

}  // namespace vigil
