#pragma once

// VelocityWindow counts events and sums their amounts over a sliding span of time, as a ring of
// fixed time buckets. Memory is fixed, and reading or adding is O(buckets). The buckets of rule
// sets' windows (12, see rules::WindowCollector) are held inside the object, so that a read does
// not follow a pointer to them.
//
//   VelocityWindow w(WindowShape{.span_ms = 3'600'000, .buckets = 12});
//   w.Add(now_ms, 5000);
//   if (w.Read(now_ms).count >= 10) ...
//
// Buckets are aligned to multiples of the bucket width since the epoch, so the same events
// always fall in the same buckets whatever order they arrive in. A read covers every bucket that
// overlaps (now - span, now]; an event is therefore counted for at least the span and at most one
// bucket width longer, never shorter: limits err on the safe side.
//
// Thread-compatible: the owner serialises access.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"

namespace vigil {

struct WindowShape {
  int64_t span_ms = 0;
  int buckets = 1;

  int64_t bucket_ms() const { return span_ms / buckets; }
  friend bool operator==(const WindowShape&, const WindowShape&) = default;
};

struct WindowReading {
  int64_t count = 0;
  int64_t sum_minor = 0;
};

class VelocityWindow {
 public:
  // REQUIRES: shape.buckets >= 1 and shape.span_ms is a positive multiple of shape.buckets.
  explicit VelocityWindow(WindowShape shape);

  // Records one event of `amount_minor` at `time_ms`. An event older than the ring reaches back
  // is ignored: it can no longer be inside any window this ring answers for.
  void Add(int64_t time_ms, int64_t amount_minor);
  // Takes back an event that Add() recorded at `time_ms`, if its bucket is still in the ring.
  void Remove(int64_t time_ms, int64_t amount_minor);
  // Events in the span ending at `now_ms`.
  WindowReading Read(int64_t now_ms) const;

  // The ring as plain numbers, for the durable store: the newest bucket's index, then each
  // slot's sum and count. Restore() takes what Save() gave for the same shape; false otherwise.
  std::vector<int64_t> Save() const;
  bool Restore(absl::Span<const int64_t> saved);

 private:
  struct Bucket {
    int64_t sum_minor = 0;
    int64_t count = 0;
  };
  // Twelve buckets and the partly-in one.
  static constexpr size_t kInlineSlots = 13;

  int64_t BucketIndex(int64_t time_ms) const;
  // Moves the ring forward so that `index` is its newest bucket, emptying buckets that expire.
  void AdvanceTo(int64_t index);
  Bucket& Slot(int64_t index) { return ring_[static_cast<size_t>(index % buckets())]; }
  const Bucket& Slot(int64_t index) const { return ring_[static_cast<size_t>(index % buckets())]; }
  int64_t buckets() const { return static_cast<int64_t>(ring_.size()); }

  int64_t bucket_ms_;
  int64_t span_buckets_;
  int64_t newest_ = 0;  // index of the newest bucket in the ring
  absl::InlinedVector<Bucket, kInlineSlots> ring_;
};

}  // namespace vigil
