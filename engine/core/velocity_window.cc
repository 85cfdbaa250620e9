#include "engine/core/velocity_window.h"

#include <algorithm>

namespace vigil {

// One slot more than the span has buckets: the oldest bucket is only partly inside the span,
// and keeping it is what makes the window err towards counting.
VelocityWindow::VelocityWindow(WindowShape shape)
    : bucket_ms_(shape.bucket_ms()),
      span_buckets_(shape.buckets),
      ring_(static_cast<size_t>(shape.buckets) + 1) {}

int64_t VelocityWindow::BucketIndex(int64_t time_ms) const {
  // Event times are after the epoch, so truncating division is floor division here.
  return std::max<int64_t>(time_ms, 0) / bucket_ms_;
}

void VelocityWindow::AdvanceTo(int64_t index) {
  if (index <= newest_) return;
  const int64_t steps = std::min(index - newest_, buckets());
  const size_t size = ring_.size();
  size_t slot = static_cast<size_t>(newest_ % buckets());
  for (int64_t n = steps; n > 0; --n) {
    if (++slot == size) slot = 0;
    ring_[slot] = Bucket{};
  }
  newest_ = index;
}

void VelocityWindow::Add(int64_t time_ms, int64_t amount_minor) {
  const int64_t index = BucketIndex(time_ms);
  AdvanceTo(index);
  if (index <= newest_ - buckets()) return;
  Bucket& bucket = Slot(index);
  bucket.count += 1;
  bucket.sum_minor += amount_minor;
}

void VelocityWindow::Remove(int64_t time_ms, int64_t amount_minor) {
  const int64_t index = BucketIndex(time_ms);
  if (index > newest_ || index <= newest_ - buckets()) return;
  Bucket& bucket = Slot(index);
  if (bucket.count == 0) return;
  bucket.count -= 1;
  bucket.sum_minor -= amount_minor;
}

WindowReading VelocityWindow::Read(int64_t now_ms) const {
  const int64_t now_index = BucketIndex(now_ms);
  // Buckets after `now_index` hold events from the future (client times out of order); buckets
  // before `now_index - span_buckets_` are wholly out of the span, and the one at it is partly in.
  const int64_t first = std::max({now_index - span_buckets_, newest_ - buckets() + 1, int64_t{0}});
  const int64_t last = std::min(now_index, newest_);
  WindowReading reading;
  if (first > last) return reading;
  // One division for the first slot, then walk the ring: a read is on every decision's path,
  // and a division per bucket cost more than the sums.
  const size_t size = ring_.size();
  size_t slot = static_cast<size_t>(first % buckets());
  for (int64_t n = last - first + 1; n > 0; --n) {
    const Bucket& bucket = ring_[slot];
    reading.count += bucket.count;
    reading.sum_minor += bucket.sum_minor;
    if (++slot == size) slot = 0;
  }
  return reading;
}

std::vector<int64_t> VelocityWindow::Save() const {
  std::vector<int64_t> saved;
  saved.reserve(1 + 2 * ring_.size());
  saved.push_back(newest_);
  for (const Bucket& bucket : ring_) {
    saved.push_back(bucket.sum_minor);
    saved.push_back(bucket.count);
  }
  return saved;
}

bool VelocityWindow::Restore(absl::Span<const int64_t> saved) {
  // Bucket indices count from the epoch and are never negative; a slot is found from one.
  if (saved.size() != 1 + 2 * ring_.size() || saved[0] < 0) return false;
  newest_ = saved[0];
  for (size_t i = 0; i < ring_.size(); ++i) {
    ring_[i] = Bucket{saved[1 + 2 * i], saved[2 + 2 * i]};
  }
  return true;
}

}  // namespace vigil
