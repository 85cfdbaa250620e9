#pragma once

// RocksDbStore keeps vigild's state in an embedded RocksDB under --data-dir: user state
// (profiles, mandates, usage, velocity windows), device and merchant windows, idempotency
// records, grant requests, the decision log, and the outbox of notices with each consumer's
// progress. It is the engine's Journal.
//
//   absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open({.path = dir});
//   absl::StatusOr<RestoredState> state = (*store)->Load();
//
// Writes are group-committed: Append() only queues, one writer thread turns everything queued
// into one RocksDB write batch (synced to disk when `sync`), then releases every caller waiting
// in WaitDurable(). If a write fails (a full disk), the store stops accepting changes (Ready()
// is UNAVAILABLE), keeps the unwritten batch, and retries it every second — reopening RocksDB if
// it will not resume on its own; once the batch is written the store is ready again. Reads of
// the engine's memory keep working meanwhile.
//
// Keys: "u/USER" UserState, "s/d/DEVICE" and "s/m/MERCHANT" SubjectState, "t/TXN"
// TransactionState, "g/REQUEST" GrantState, "l/TIME/BOOT/SEQ" DecisionLogRecord (time-ordered),
// "n/CURSOR" vigil.v1.Notice (CURSOR in fixed-width hex, so keys sort by it), "consumer/NAME"
// and "mark/NAME" (decimal), "meta/format", "meta/boot", "meta/notices" (the last cursor
// written) and "meta/notices_trimmed" (the last cursor deleted past retention).
//
// A notice's cursor is given by the writer as it writes the batch holding it, one after the
// last durable one, so cursors are gapless and in the order of the changes.
//
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/core/decision_log.h"
#include "engine/core/journal.h"
#include "engine/core/notice.h"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace vigil::store {

// The on-disk format this build reads and writes.
inline constexpr int kFormatVersion = 1;

// Told of every batch the store's writer writes, and of the writer failing and recovering, on
// the writer's thread. For metrics and the operational log; it must not block or call the store.
class WriteObserver {
 public:
  virtual ~WriteObserver() = default;
  virtual void OnBatchWritten(size_t changes, absl::Duration took) = 0;
  // The first failure after a success (not every retry), and the first success after failures.
  virtual void OnWriteFailed(const absl::Status& error) = 0;
  virtual void OnWriteRecovered() = 0;
};

struct StoreOptions {
  std::string path;
  // Sync each batch to disk (survives power loss) rather than only handing it to the OS
  // (survives a crash of vigild).
  bool sync = true;
  // The environment RocksDB does its I/O through; nullptr for the real one. Tests inject faults
  // here. Not owned; must outlive the store.
  rocksdb::Env* env = nullptr;
  // Not owned; nullptr for none. Must outlive the store.
  WriteObserver* observer = nullptr;
  // How long a failed write waits before it is tried again.
  absl::Duration retry_interval = absl::Seconds(1);
};

class RocksDbStore final : public Journal, public DecisionLog, public NoticeOutbox {
 public:
  // Opens (or creates) the store at options.path.
  //   FAILED_PRECONDITION: another process holds the directory; it was written by a newer
  //     vigild; or it holds files that are not a Vigil store. Nothing is changed.
  //   DATA_LOSS: the store is damaged.
  static absl::StatusOr<std::unique_ptr<RocksDbStore>> Open(const StoreOptions& options);
  // Writes what is queued (if it can), then closes.
  ~RocksDbStore() override;

  absl::StatusOr<RestoredState> Load() override;

  // DATA_LOSS for an entry that cannot be read.
  absl::Status ExportDecisions(int64_t since_ms, int64_t until_ms,
                               absl::FunctionRef<bool(const DecisionLogEntry&)> sink) override;
  absl::Status ExportDecisionsNewestFirst(
      int64_t until_ms, absl::FunctionRef<bool(const DecisionLogEntry&)> sink) override;
  absl::Status DeleteDecisionsBefore(int64_t before_ms) override;

  // DATA_LOSS for a notice that cannot be read.
  absl::Status ReadNotices(uint64_t after,
                           absl::FunctionRef<bool(const StoredNotice&)> sink) override;
  uint64_t LastNoticeCursor() const override;
  uint64_t TrimmedThrough() const override;
  absl::Status DeleteNoticesBefore(int64_t before_ms) override;
  absl::StatusOr<std::optional<uint64_t>> AckedCursor(absl::string_view consumer) override;
  // Synced to disk as the store's batches are (StoreOptions::sync).
  absl::Status Ack(absl::string_view consumer, uint64_t cursor) override;
  void SetNoticeListener(absl::AnyInvocable<void(uint64_t last_cursor)> listener) override;
  absl::StatusOr<int64_t> ReadMark(absl::string_view name) override;

  absl::Status Ready() const override;
  uint64_t Append(StateChange change) override;
  uint64_t LastSequence() const override;
  absl::Status WaitDurable(uint64_t sequence) override;
  // Calls `done` from the writer thread once the batch holding `sequence` is written (or at
  // once if it already is, or if the store cannot write or is closing).
  void WhenDurable(uint64_t sequence, DurableCallback done) override;

  struct Stats {
    uint64_t batches = 0;  // RocksDB writes
    uint64_t changes = 0;  // StateChanges written
    uint64_t failed_writes = 0;
  };
  Stats stats() const;

 private:
  RocksDbStore(std::unique_ptr<rocksdb::DB> db, const StoreOptions& options, uint64_t boot,
               uint64_t last_notice, uint64_t trimmed_through);
  // A decimal number stored under `key`; `fallback` when there is none.
  absl::StatusOr<uint64_t> ReadNumber(const std::string& key, uint64_t fallback);

  // What waiting for `sequence` ends with: OK once written, the failure while the store cannot
  // write, UNAVAILABLE while it closes; none while the wait goes on.
  std::optional<absl::Status> Settled(uint64_t sequence) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriteLoop();
  // Writes `batch` (changes seq first..last); OK or the reason it failed.
  // `retrying`: the previous write failed too.
  // The notices in it take the cursors after last_notice_; `last_notice` gets the last.
  absl::Status Write(const std::deque<std::pair<uint64_t, StateChange>>& batch, bool retrying,
                     uint64_t& last_notice);
  // After a failed write RocksDB refuses writes until it recovers; when it does not, closing and
  // opening it again (it replays its log) is the reliable way back.
  absl::Status Reopen();

  // Shared by readers; held exclusively only to reopen. Null after a failed reopen.
  mutable absl::Mutex db_mu_;
  std::unique_ptr<rocksdb::DB> db_ ABSL_GUARDED_BY(db_mu_);
  const StoreOptions options_;
  const uint64_t boot_;

  mutable absl::Mutex mu_;
  std::deque<std::pair<uint64_t, StateChange>> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t appended_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t durable_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // WhenDurable() callbacks waiting for their sequence.
  std::vector<std::pair<uint64_t, DurableCallback>> waiters_ ABSL_GUARDED_BY(mu_);
  Stats stats_ ABSL_GUARDED_BY(mu_);
  // The last notice written (set by the writer) and deleted past retention.
  std::atomic<uint64_t> last_notice_;
  std::atomic<uint64_t> trimmed_through_;
  absl::Mutex listener_mu_;
  absl::AnyInvocable<void(uint64_t)> listener_ ABSL_GUARDED_BY(listener_mu_);
  // Serialises acks (each reads the consumer's before writing) and trims.
  absl::Mutex outbox_mu_;
  std::thread writer_;
};

}  // namespace vigil::store
