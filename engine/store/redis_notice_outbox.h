#pragma once

// RedisNoticeOutbox is the NoticeOutbox of vigild nodes that share a Redis Cluster: one stream
// of notices, {notices}, that every node's consumers read and ack, whichever node's calls made
// the notices (keys: redis_layout.h).
//
// A commit can write only to its user's slot, so a change's notices go first to its slot's
// outbox, in the same function call as the change (RedisSharedState::Commit): a notice is
// stored exactly when its event is. This class relays them from there into {notices}:
//
//   1. the slots a commit of this node wrote notices to are relayed at once, on a thread of
//      the outbox's own, never on the call's: a charge waits for its commit alone;
//   2. every `sweep_interval`, and at start, every slot's outbox is looked at, for notices
//      that a node which died before relaying them left there;
//   3. a slot's entries are read (XRANGE), added to {notices} with the next cursors by
//      vigil_relay, which skips what was relayed before (so a relay cut short and done again,
//      or done by two nodes at once, adds each notice once), then deleted from the slot.
//
// Each user's notices stay in order: they enter their slot's outbox in the order of the user's
// changes and leave it in that order. {notices} lives on one primary: every notice passes
// through it, a few hundred at a time.
//
//   RedisNoticeOutbox::Options options;
//   options.holder = "node-7";
//   std::unique_ptr<RedisNoticeOutbox> outbox = *RedisNoticeOutbox::Create(cluster, options);
//   outbox->ReadNotices(0, [](const StoredNotice& n) { ...; return true; });
//
// The last cursor that LastNoticeCursor() gives, and the listener's calls, are this node's view,
// read every `relay_interval`: notices other nodes relayed reach this node's streams that much
// later. TrimmedThrough() is the same.
//
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/core/notice.h"
#include "engine/redis/cluster_client.h"

namespace vigil::store {

class RedisNoticeOutbox final : public NoticeOutbox {
 public:
  struct Options {
    // Who this node is, for the scans' lease. Give each node its own.
    std::string holder;
    // How often the relay reads the last cursor (for this node's streams), renews the scans'
    // lease if it holds it, and retries slots that failed. Zero: no thread; Settle() does all
    // of it when called (for tests).
    absl::Duration relay_interval = absl::Milliseconds(50);
    // How often every slot's outbox is looked at for notices a dead node left (16,384 XLENs).
    absl::Duration sweep_interval = absl::Seconds(10);
    // How long the scans' lease lasts when its holder stops renewing it (it died).
    absl::Duration scan_lease = absl::Seconds(30);
    // Replicas of {notices}' primary that must have a relay before its entries leave their
    // slots (Redis's WAIT), as for commits: a failover then loses no relayed notice that its
    // slot no longer holds. 0: the primary alone.
    int wait_replicas = 0;
    absl::Duration wait_timeout = absl::Milliseconds(100);
    // Told when relaying starts failing (the error) and when it works again (OK); on the
    // relay's thread.
    std::function<void(const absl::Status&)> on_relay_state;
  };

  // Reads the stream's last cursor and starts relaying. UNAVAILABLE when the cluster cannot be
  // reached. REQUIRES: `cluster` outlives the outbox.
  static absl::StatusOr<std::unique_ptr<RedisNoticeOutbox>> Create(redis::ClusterClient* cluster,
                                                                   Options options);
  ~RedisNoticeOutbox() override;

  // A commit of this node wrote notices to `slot`'s outbox: relay it soon.
  void NoticesWritten(int slot);
  // Relays every slot with notices (looking at them all), then reads the last cursor and calls
  // the listener: what the relay thread does over a sweep interval, now, on this thread.
  absl::Status Settle();

  // NoticeOutbox. DATA_LOSS for a notice that cannot be read; UNAVAILABLE when the cluster
  // cannot be reached.
  absl::Status ReadNotices(uint64_t after,
                           absl::FunctionRef<bool(const StoredNotice&)> sink) override;
  uint64_t LastNoticeCursor() const override;
  uint64_t TrimmedThrough() const override;
  absl::Status DeleteNoticesBefore(int64_t before_ms) override;
  absl::StatusOr<std::optional<uint64_t>> AckedCursor(absl::string_view consumer) override;
  absl::Status Ack(absl::string_view consumer, uint64_t cursor) override;
  void SetNoticeListener(absl::AnyInvocable<void(uint64_t last_cursor)> listener) override;
  absl::StatusOr<int64_t> ReadMark(absl::string_view name) override;
  // Renewed by the relay thread while held; expires `scan_lease` after this node stops.
  absl::StatusOr<bool> AcquireScans() override;
  void ReleaseScans() override;

  // Notices this node relayed into {notices}.
  uint64_t relayed() const { return relayed_.load(std::memory_order_relaxed); }

 private:
  RedisNoticeOutbox(redis::ClusterClient* cluster, Options options);
  void Run();
  // The slots whose outboxes hold entries, of all 16,384.
  absl::StatusOr<std::vector<int>> SlotsWithNotices();
  // Relays up to a batch of `slot`'s entries; how many it read.
  absl::StatusOr<size_t> RelaySlot(int slot);
  // Relays `slots` until their outboxes are empty; the first error, with the slots left put
  // back to be relayed later.
  absl::Status Relay(std::vector<int> slots);
  // Reads the last and trimmed cursors; tells the listener of new notices.
  absl::Status Refresh();
  absl::Status RenewLease();
  void ReportRelay(const absl::Status& status);

  redis::ClusterClient* const cluster_;
  const Options options_;
  std::atomic<uint64_t> last_{0};
  std::atomic<uint64_t> trimmed_{0};
  std::atomic<uint64_t> relayed_{0};
  std::atomic<bool> lease_held_{false};
  std::atomic<int64_t> lease_renewed_ns_{0};  // absl::Now() when last taken or renewed

  absl::Mutex mu_;
  absl::flat_hash_set<int> dirty_ ABSL_GUARDED_BY(mu_);  // slots to relay
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool failing_ ABSL_GUARDED_BY(mu_) = false;
  absl::Mutex listener_mu_;
  absl::AnyInvocable<void(uint64_t)> listener_ ABSL_GUARDED_BY(listener_mu_);
  std::thread relay_;
};

}  // namespace vigil::store
