#pragma once

// RedisSharedState is the SharedState of vigild nodes that share a Redis Cluster (keys:
// redis_layout.h). Every key of a user carries the hash tag {u:ID}, so that the user's record,
// the idempotency records of their calls and the outbox their notices enter live in one slot,
// on one primary, and a commit checks and writes them in one step, the server-side function
// vigil_commit (redis_functions.h). The notices are relayed from there into the one stream
// that consumers read by RedisNoticeOutbox, which a commit tells of the slot it wrote to.
//
// Costs a call: a read is one round trip (HMGET); a commit one (FCALL, with WAIT after it in
// the same batch when `wait_replicas` > 0); a claim (SET NX GET) one, to its own primary, sent
// ahead: nobody waits for it alone. Round trips to one primary are pipelined with every other
// call to it (engine/redis/node_connection.h). The scans' reads and writes (ForEachUser,
// Notify, SetMark) go through a client of their own, `background`, so that their batches do
// not queue ahead of commits in the same pipelines.
//
// Thread-safe.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/core/shared_state.h"
#include "engine/redis/cluster_client.h"
#include "engine/store/redis_notice_outbox.h"

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
  // The client the scans' calls go through; nullptr: the commits' own.
  redis::ClusterClient* background = nullptr;
  // Told of each slot a commit wrote notices to; nullptr: nobody (they wait for a sweep).
  RedisNoticeOutbox* outbox = nullptr;
};

class RedisSharedState final : public SharedState {
 public:
  // Loads the library of functions onto every primary. UNAVAILABLE when a primary cannot be
  // reached, FAILED_PRECONDITION when one refuses it (e.g. a Redis without functions).
  // REQUIRES: `cluster`, and the options' background client and outbox, outlive the result.
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
  // A SCAN of each primary in turn, a page of users a batch. A user whose slot moves during
  // the scan may be missed or seen twice.
  absl::Status ForEachUser(
      absl::FunctionRef<absl::Status(const std::vector<UserSnapshot>&)> batch) override;
  absl::Status Notify(std::vector<Notice> notices) override;
  absl::Status SetMark(absl::string_view name, int64_t value) override;

 private:
  RedisSharedState(redis::ClusterClient* cluster, RedisSharedStateOptions options)
      : cluster_(cluster),
        background_(options.background != nullptr ? options.background : cluster),
        options_(options) {}
  // Commit, once. NOT_FOUND when the user's primary has no vigil_commit (nothing was written).
  absl::StatusOr<std::optional<Conflict>> CommitOnce(const Write& write);

  redis::ClusterClient* const cluster_;
  redis::ClusterClient* const background_;
  const RedisSharedStateOptions options_;
};

}  // namespace vigil::store
