#pragma once

// ClusterClient runs commands on a Redis Cluster: each on the primary of its key's slot, found in
// a map of the slots that CLUSTER SLOTS reports, through one pipelined NodeConnection per node.
// It follows redirects as the cluster's specification asks: MOVED (the slot has a new owner: the
// command goes there, and the map is read again in the background) and ASK (the slot is being
// moved: ASKING and the command, to the named node, once). When a node cannot be reached, the
// map is read again too (a replica may be taking over); meanwhile calls fail with UNAVAILABLE
// rather than wait. A command whose node failed after it was sent may or may not have been
// applied: UNAVAILABLE says only that its reply was lost.
//
//   ClusterOptions options;
//   options.seeds = {"127.0.0.1:7000"};
//   absl::StatusOr<std::unique_ptr<ClusterClient>> cluster = ClusterClient::Connect(options);
//   (*cluster)->Call("{u:42}:state", {"GET", "{u:42}:state"});
//
// Thread-safe. Routing takes no lock: the slot map is an immutable table, swapped by pointer
// (old tables are kept until the client goes, a few hundred KB per change of topology).

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/redis/key_slot.h"
#include "engine/redis/node_connection.h"
#include "engine/redis/reply.h"

namespace vigil::redis {

struct ClusterOptions {
  // Any nodes of the cluster, "host:port".
  std::vector<std::string> seeds;
  // Timeouts of every node's connection (its host and port are ignored).
  NodeOptions node;
  // Redirects one command may follow before it fails.
  int max_redirects = 5;
  // The map is read again at most this often, however many redirects and failures ask.
  absl::Duration min_refresh_interval = absl::Milliseconds(100);
};

class ClusterClient {
 public:
  using Done = absl::AnyInvocable<void(absl::StatusOr<Reply>) &&>;
  using BatchDone = NodeConnection::BatchDone;

  // Reads the slot map from the first seed that answers. INVALID_ARGUMENT for a malformed seed,
  // UNAVAILABLE when no seed answers or the cluster does not cover every slot.
  static absl::StatusOr<std::unique_ptr<ClusterClient>> Connect(ClusterOptions options);
  // REQUIRES: no call in flight.
  ~ClusterClient();
  ClusterClient(const ClusterClient&) = delete;
  ClusterClient& operator=(const ClusterClient&) = delete;

  // Runs `command` on the primary of `key`'s slot and returns at once; `done` runs once, on a
  // connection's thread, and must not block. An error reply other than a redirect is a reply
  // (Reply::is_error()), not an error status; UNAVAILABLE when no node answered.
  void Send(absl::string_view key, Command command, Done done);
  // Sends and waits.
  absl::StatusOr<Reply> Call(absl::string_view key, Command command);
  // `commands` back to back on the primary of `key`'s slot (e.g. a write, then WAIT for its
  // replicas); redirected as a whole when the first is. One reply per command.
  void SendBatch(absl::string_view key, std::vector<Command> commands, BatchDone done);
  absl::StatusOr<std::vector<Reply>> CallBatch(absl::string_view key,
                                               std::vector<Command> commands);
  // Runs `command` on every primary, each in turn (e.g. FUNCTION LOAD); the first failure or
  // error reply, as a status.
  absl::Status CallOnEveryPrimary(const Command& command);
  // `commands` back to back on the node at `address` (e.g. one of primaries()), whatever keys
  // they name: for SCAN, which names none, and for reads of the keys it returned. No redirect
  // is followed: a key whose slot moved meanwhile gets its MOVED as its reply.
  absl::StatusOr<std::vector<Reply>> CallOn(const std::string& address,
                                            std::vector<Command> commands);

  // The primaries of the current map, "host:port", sorted.
  std::vector<std::string> primaries() const;
  // Reads the map now, and waits for it. UNAVAILABLE when no node answers.
  absl::Status RefreshSlots();
  // How many times the map was replaced since Connect (for tests and metrics).
  uint64_t map_changes() const { return map_changes_.load(std::memory_order_relaxed); }
  // How many times a caller waited for replies (Call, CallBatch): the round trips callers
  // waited for. Send and SendBatch, which do not wait, are not counted.
  uint64_t round_trips() const { return round_trips_.load(std::memory_order_relaxed); }

 private:
  struct SlotMap {
    std::array<NodeConnection*, kSlotCount> owner{};
  };

  explicit ClusterClient(ClusterOptions options);
  // The connection to `address`, made on first use.
  NodeConnection* Node(const std::string& address);
  // Sends to `node`, handling the first reply's redirects. `asking`: precede it with ASKING.
  void SendTo(NodeConnection* node, bool asking, std::vector<Command> commands, BatchDone done,
              int hops);
  // Reads CLUSTER SLOTS from the known nodes and seeds; installs the new map if it covers every
  // slot.
  absl::Status ReadSlots();
  void RequestRefresh();
  void RefreshLoop();

  const ClusterOptions options_;
  std::atomic<const SlotMap*> map_{nullptr};
  std::atomic<uint64_t> map_changes_{0};
  std::atomic<uint64_t> round_trips_{0};

  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<NodeConnection>> nodes_ ABSL_GUARDED_BY(mu_);
  std::vector<std::unique_ptr<SlotMap>> maps_ ABSL_GUARDED_BY(mu_);
  bool refresh_wanted_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex read_mu_;  // one ReadSlots at a time
  std::thread refresher_;
};

}  // namespace vigil::redis
