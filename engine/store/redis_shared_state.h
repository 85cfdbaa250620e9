#pragma once

// RedisSharedState is the SharedState of vigild nodes that share a Redis Cluster. Every key of a
// user carries the hash tag {u:ID}, so that the user's record and the idempotency records of
// their calls live in one slot, on one primary, and a commit checks and writes them in one
// step, in the server-side function vigil_commit:
//
//   {u:ID}              hash: t (token), s (store.v1.UserState), f (time floor, ms)
//   {u:ID}:turn         the node whose turn it is to commit for the user, for a few ms after
//                       its commit was refused (so that two nodes take turns)
//   {u:ID}:t:TXN        store.v1.TransactionState, expiring after the idempotency retention
//   {u:ID}:g:REQUEST    store.v1.GrantState, the same
//   t:TXN               the user a transaction id was claimed for, the same
//   m:MANDATE           the user a mandate belongs to
//
// The functions are a library (FUNCTION LOAD REPLACE, on every primary at start, and on a
// primary that joins later when a commit first finds it missing): unlike the script cache,
// functions are replicated and persisted, so they survive restarts and failover.
//
// Costs a call: a read is one round trip (HMGET); a commit one (FCALL, with WAIT after it in
// the same batch when `wait_replicas` > 0); a claim (SET NX GET) one, to its own primary, sent
// ahead: nobody waits for it alone. Round trips to one primary are pipelined with every other
// call to it (engine/redis/node_connection.h).
//
// Thread-safe.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/core/shared_state.h"
#include "engine/redis/cluster_client.h"

namespace vigil::store {

struct RedisSharedStateOptions {
  // How long idempotency records and transaction claims are kept.
  absl::Duration retention = absl::Hours(24 * 7);
  // Replicas that must have a commit before it is acknowledged (Redis's WAIT); 0: the primary
  // alone. A commit they do not confirm within `wait_timeout` is UNAVAILABLE (a retry of the
  // call finds it, if the primary kept it).
  int wait_replicas = 0;
  absl::Duration wait_timeout = absl::Milliseconds(100);
  // How long a node whose commit was refused has the user to itself: enough for its retry's
  // round trip on a loaded node (a loaded two-core test machine needs over 20 ms), and the
  // longest others wait if that node dies meanwhile.
  absl::Duration turn = absl::Milliseconds(100);
};

class RedisSharedState final : public SharedState {
 public:
  // Loads the library of functions onto every primary. UNAVAILABLE when a primary cannot be
  // reached, FAILED_PRECONDITION when one refuses it (e.g. a Redis without functions).
  // REQUIRES: `cluster` outlives the result.
  static absl::StatusOr<std::unique_ptr<RedisSharedState>> Create(redis::ClusterClient* cluster,
                                                                  RedisSharedStateOptions options);

  absl::StatusOr<UserRecord> ReadUser(absl::string_view user_id) override;
  absl::StatusOr<std::optional<TransactionSnapshot>> ReadTransaction(
      absl::string_view user_id, absl::string_view transaction_id) override;
  std::shared_ptr<Claim> StartClaim(absl::string_view transaction_id,
                                    absl::string_view user_id) override;
  absl::StatusOr<std::string> TransactionOwner(absl::string_view transaction_id) override;
  absl::Status SetMandateOwner(absl::string_view mandate_id, absl::string_view user_id) override;
  absl::StatusOr<std::string> MandateOwner(absl::string_view mandate_id) override;
  absl::StatusOr<std::optional<Conflict>> Commit(const Write& write) override;

 private:
  RedisSharedState(redis::ClusterClient* cluster, RedisSharedStateOptions options)
      : cluster_(cluster), options_(options) {}
  // Commit, once. NOT_FOUND when the user's primary has no vigil_commit (nothing was written).
  absl::StatusOr<std::optional<Conflict>> CommitOnce(const Write& write);

  redis::ClusterClient* const cluster_;
  const RedisSharedStateOptions options_;
};

}  // namespace vigil::store
