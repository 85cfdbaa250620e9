#pragma once

// MemoryJournal keeps, in memory, exactly what a durable store would recover: the latest record
// of every user, subject, transaction and grant. Every change is durable as soon as it is
// appended. For tests of the engine's durability without a disk; it can be told to fail like a
// full disk does.
//
// Thread-safe.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "engine/core/decision_log.h"
#include "engine/core/journal.h"
#include "engine/core/notice.h"

namespace vigil::store {

class MemoryJournal final : public Journal, public DecisionLog, public NoticeOutbox {
 public:
  absl::StatusOr<RestoredState> Load() override;
  absl::Status Ready() const override;
  uint64_t Append(StateChange change) override;
  uint64_t LastSequence() const override;
  absl::Status WaitDurable(uint64_t sequence) override;

  // While `failure` is not OK, Ready() and WaitDurable() return it and appends are dropped.
  void SetFailure(absl::Status failure);
  absl::Status ExportDecisions(int64_t since_ms, int64_t until_ms,
                               absl::FunctionRef<bool(const DecisionLogEntry&)> sink) override;
  absl::Status ExportDecisionsNewestFirst(
      int64_t until_ms, absl::FunctionRef<bool(const DecisionLogEntry&)> sink) override;
  absl::Status DeleteDecisionsBefore(int64_t before_ms) override;

  absl::Status ReadNotices(uint64_t after,
                           absl::FunctionRef<bool(const StoredNotice&)> sink) override;
  uint64_t LastNoticeCursor() const override;
  uint64_t TrimmedThrough() const override;
  absl::Status DeleteNoticesBefore(int64_t before_ms) override;
  absl::StatusOr<std::optional<uint64_t>> AckedCursor(absl::string_view consumer) override;
  absl::Status Ack(absl::string_view consumer, uint64_t cursor) override;
  void SetNoticeListener(absl::AnyInvocable<void(uint64_t last_cursor)> listener) override;
  absl::StatusOr<int64_t> ReadMark(absl::string_view name) override;

 private:
  // Append's work under the lock; `last_notice` gets the last cursor when it made notices.
  uint64_t Apply(StateChange change, uint64_t& last_notice);

  mutable absl::Mutex mu_;
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, UserSnapshot> users_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<int, std::string>, SubjectSnapshot> subjects_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, TransactionSnapshot> transactions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, GrantSnapshot> grants_ ABSL_GUARDED_BY(mu_);
  std::vector<DecisionLogEntry> log_ ABSL_GUARDED_BY(mu_);
  std::deque<StoredNotice> notices_ ABSL_GUARDED_BY(mu_);
  uint64_t last_notice_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t trimmed_through_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, uint64_t, std::less<>> acks_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t, std::less<>> marks_ ABSL_GUARDED_BY(mu_);
  absl::Mutex listener_mu_;
  absl::AnyInvocable<void(uint64_t)> listener_ ABSL_GUARDED_BY(listener_mu_);
};

}  // namespace vigil::store
