#include "engine/server/metrics.h"

#include <algorithm>

#include "engine/server/admission.h"

namespace vigil::server {

size_t ThisThreadStripe() {
  static std::atomic<size_t> next{0};
  thread_local const size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return stripe;
}

Histogram::Histogram(std::vector<int64_t> bounds)
    : bounds_(std::move(bounds)),
      width_(bounds_.size() + 2),
      lines_per_stripe_((width_ + std::size(Line{}.values) - 1) / std::size(Line{}.values)),
      lines_(new Line[kStripes * lines_per_stripe_]) {}

std::atomic<int64_t>& Histogram::At(size_t stripe, size_t index) const {
  constexpr size_t kPerLine = std::size(Line{}.values);
  return lines_[stripe * lines_per_stripe_ + index / kPerLine].values[index % kPerLine];
}

void Histogram::Observe(int64_t value) {
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  const size_t stripe = ThisThreadStripe();
  At(stripe, bucket).fetch_add(1, std::memory_order_relaxed);
  At(stripe, width_ - 1).fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  snapshot.bounds = bounds_;
  std::vector<uint64_t> buckets(bounds_.size() + 1, 0);
  for (size_t stripe = 0; stripe < kStripes; ++stripe) {
    for (size_t b = 0; b < buckets.size(); ++b) {
      buckets[b] += At(stripe, b).load(std::memory_order_relaxed);
    }
    snapshot.sum += At(stripe, width_ - 1).load(std::memory_order_relaxed);
  }
  uint64_t running = 0;
  for (size_t b = 0; b < bounds_.size(); ++b) {
    running += buckets[b];
    snapshot.cumulative.push_back(running);
  }
  snapshot.count = running + buckets.back();
  return snapshot;
}

std::vector<int64_t> LatencyBoundsNs() {
  return {25'000,    50'000,     100'000,    250'000,    500'000,     1'000'000,   2'500'000,
          5'000'000, 10'000'000, 25'000'000, 50'000'000, 100'000'000, 250'000'000, 1'000'000'000};
}

std::vector<int64_t> BatchSizeBounds() {
  std::vector<int64_t> bounds;
  for (int64_t b = 1; b <= 4096; b *= 2) bounds.push_back(b);
  return bounds;
}

absl::Status AdmitAuthorize(Admission& admission, ServerMetrics& metrics,
                            std::chrono::system_clock::time_point deadline,
                            std::chrono::system_clock::time_point now) {
  if (deadline <= now) {
    metrics.rejected.Add(ServerMetrics::kDeadline);
    return absl::DeadlineExceededError("the call's deadline passed before it could be decided");
  }
  if (!admission.TryEnter()) {
    metrics.rejected.Add(ServerMetrics::kOverload);
    return absl::ResourceExhaustedError(
        "vigild is at its limit of Authorize calls in progress (--max-inflight); nothing was "
        "decided, retry with backoff");
  }
  return absl::OkStatus();
}

}  // namespace vigil::server
