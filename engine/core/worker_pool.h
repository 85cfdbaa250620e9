#pragma once

// WorkerPool runs tasks on a fixed set of threads of its own, first queued first run: for calls
// that wait on a round trip, so that the threads that hand them over (a server's transport
// threads) go on to other work meanwhile.
//
//   WorkerPool pool(64);
//   pool.Run([request = request, done = std::move(done)]() mutable { ... });
//
// Thread-safe. The queue is not bounded here: callers bound what they hand over (vigild admits
// a bounded number of calls). Destroying the pool runs what is queued, then joins.

#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace vigil {

class WorkerPool {
 public:
  // REQUIRES: threads > 0.
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Run(absl::AnyInvocable<void() &&> task);

 private:
  void Work();

  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace vigil
