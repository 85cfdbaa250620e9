#pragma once

// A RocksDB file system that can be made to behave like a full disk: while full, every write to
// a file fails with "no space left on device"; reads keep working. The seam through which the
// store tests inject the fault.

#include <atomic>
#include <memory>
#include <string>

#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace vigil::store {

class FullDisk {
 public:
  FullDisk();

  rocksdb::Env* env() { return env_.get(); }
  void SetFull(bool full) { full_->store(full); }

 private:
  std::shared_ptr<std::atomic<bool>> full_;
  std::unique_ptr<rocksdb::Env> env_;
};

}  // namespace vigil::store
