#pragma once

// A RocksDB file system that can be made to behave like a full disk: while full, every write to
// a file fails with "no space left on device"; reads keep working. Or like a stalled one: while
// stalled, every sync waits until it is not. The seam through which the tests inject faults.

#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace vigil::store {

class FullDisk {
 public:
  FullDisk();

  rocksdb::Env* env() { return env_.get(); }
  void SetFull(bool full) { state_->full.store(full); }
  void SetStalled(bool stalled);

  struct State {
    std::atomic<bool> full{false};
    absl::Mutex mu;
    bool stalled ABSL_GUARDED_BY(mu) = false;
  };

 private:
  std::shared_ptr<State> state_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace vigil::store
