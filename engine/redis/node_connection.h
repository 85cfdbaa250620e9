#pragma once

// NodeConnection is one TCP connection to one Redis node, shared by every thread that talks to
// that node. Callers queue commands; the connection's own thread writes everything queued at
// once and then reads the replies in order (a pipeline), so that concurrent calls share round
// trips: the more calls wait, the larger each batch. It connects on first use, and after an
// error reconnects for the next batch (at most every `reconnect_interval`: meanwhile batches
// fail at once).
//
//   NodeConnection node(NodeOptions{"127.0.0.1", 7000});
//   absl::StatusOr<Reply> pong = node.Call({"PING"});
//
// When the connection fails, every command whose reply was not read gets UNAVAILABLE: whether
// the node applied it is unknown, and the caller must be able to find out (Vigil's commits
// carry a version for this).
//
// Thread-safe. Destroying it fails what is still queued with UNAVAILABLE.

#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/redis/reply.h"

struct redisContext;

namespace vigil::redis {

using Command = std::vector<std::string>;

struct NodeOptions {
  std::string host;
  int port = 0;
  absl::Duration connect_timeout = absl::Milliseconds(500);
  // A reply slower than this fails its batch: a node that stopped answering is treated as down.
  absl::Duration io_timeout = absl::Seconds(1);
  absl::Duration reconnect_interval = absl::Milliseconds(100);
};

class NodeConnection {
 public:
  // One reply per command, in order; or why none could be had.
  using BatchDone = absl::AnyInvocable<void(absl::StatusOr<std::vector<Reply>>) &&>;

  explicit NodeConnection(NodeOptions options);
  ~NodeConnection();
  NodeConnection(const NodeConnection&) = delete;
  NodeConnection& operator=(const NodeConnection&) = delete;

  // Queues `commands`, to be sent back to back with no other caller's command between them, and
  // returns at once. `done` runs on the connection's thread, once, and must not block.
  void Send(std::vector<Command> commands, BatchDone done);
  // Sends and waits.
  absl::StatusOr<std::vector<Reply>> Call(std::vector<Command> commands);
  absl::StatusOr<Reply> Call(Command command);

  // "host:port".
  const std::string& address() const { return address_; }

 private:
  struct Pending {
    std::vector<Command> commands;
    BatchDone done;
  };

  void Run();
  // Sends `batch` and completes each of its calls.
  void Exchange(std::vector<Pending>& batch);
  absl::Status EnsureConnected();
  void Disconnect();

  const NodeOptions options_;
  const std::string address_;
  absl::Mutex mu_;
  std::vector<Pending> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // The connection's thread only.
  redisContext* context_ = nullptr;
  absl::Time next_connect_ = absl::InfinitePast();
  std::thread thread_;
};

}  // namespace vigil::redis
