#pragma once

// Admission bounds how many calls of one kind are in progress: a call that would be one too
// many is refused at once (RESOURCE_EXHAUSTED) rather than queued, so that under overload the
// calls vigild does take are answered in time and its memory stays bounded. vigild keeps one
// for Authorize (--max-inflight) and one for Mandates and Users together, so that a flood of
// charges cannot take the capacity that a user's one-click cancel needs.
//
//   if (!admission.TryEnter()) return ResourceExhausted(...);
//   ... answer ...
//   admission.Leave();
//
// Thread-safe. The count is one atomic on a cache line of its own: an Authorize writes it twice,
// and both server threads share it, which is the price of a bound that holds across them.

#include <atomic>
#include <chrono>
#include <cstdint>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "engine/server/metrics.h"

namespace vigil::server {

class Admission {
 public:
  // REQUIRES: limit > 0.
  explicit Admission(int64_t limit) : limit_(limit) {}

  // True when the call may go on; it must then Leave() once answered.
  bool TryEnter() {
    if (in_flight_.fetch_add(1, std::memory_order_acquire) >= limit_) {
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    return true;
  }
  void Leave() { in_flight_.fetch_sub(1, std::memory_order_release); }

  int64_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  int64_t limit() const { return limit_; }

 private:
  alignas(ABSL_CACHELINE_SIZE) std::atomic<int64_t> in_flight_{0};
  const int64_t limit_;
};

// Whether an Authorize may be decided now. DEADLINE_EXCEEDED when its deadline has passed (it
// waited in the transport longer than its caller would: deciding it would only delay the calls
// that can still be answered in time), RESOURCE_EXHAUSTED when `admission` is full; each counted
// in `metrics`. On OK the call holds a place in `admission` and must Leave() once answered.
absl::Status AdmitAuthorize(Admission& admission, ServerMetrics& metrics,
                            std::chrono::system_clock::time_point deadline,
                            std::chrono::system_clock::time_point now);

}  // namespace vigil::server
