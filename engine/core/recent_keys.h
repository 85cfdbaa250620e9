#pragma once

// RecentKeys answers "how many distinct keys (e.g. merchants) were seen in the last span" from
// the last kCapacity events, so its memory is fixed. Counts saturate at kCapacity: a rule that
// needs more distinct values than that in one window is better written as a count.
//
// Thread-compatible: the owner serialises access.

#include <array>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace vigil {

class RecentKeys {
 public:
  static constexpr int kCapacity = 16;

  void Add(int64_t time_ms, uint64_t key_hash);
  // Distinct keys among the remembered events in (now - span_ms, now].
  int64_t DistinctSince(int64_t now_ms, int64_t span_ms) const;

  // As plain numbers for the durable store: the next slot, then each entry's time and key.
  std::vector<int64_t> Save() const;
  bool Restore(absl::Span<const int64_t> saved);

 private:
  struct Entry {
    int64_t time_ms = INT64_MIN;
    uint64_t key_hash = 0;
  };
  std::array<Entry, kCapacity> entries_{};
  int next_ = 0;
};

}  // namespace vigil
