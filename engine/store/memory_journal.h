#pragma once

// MemoryJournal keeps, in memory, exactly what a durable store would recover: the latest record
// of every user, subject, transaction and grant. Every change is durable as soon as it is
// appended. For tests of the engine's durability without a disk; it can be told to fail like a
// full disk does.
//
// Thread-safe.

#include <cstdint>
#include <map>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "engine/core/journal.h"

namespace vigil::store {

class MemoryJournal final : public Journal {
 public:
  absl::Status Ready() const override;
  uint64_t Append(StateChange change) override;
  uint64_t LastSequence() const override;
  absl::Status WaitDurable(uint64_t sequence) override;

  // What a restart would restore.
  RestoredState Load() const;
  // While `failure` is not OK, Ready() and WaitDurable() return it and appends are dropped.
  void SetFailure(absl::Status failure);
  // Decision log entries appended so far, in order.
  std::vector<DecisionLogEntry> log() const;

 private:
  mutable absl::Mutex mu_;
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, UserSnapshot> users_ ABSL_GUARDED_BY(mu_);
  std::map<std::pair<int, std::string>, SubjectSnapshot> subjects_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, TransactionSnapshot> transactions_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, GrantSnapshot> grants_ ABSL_GUARDED_BY(mu_);
  std::vector<DecisionLogEntry> log_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vigil::store
