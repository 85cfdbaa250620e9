#include "engine/core/recent_keys.h"

namespace vigil {

void RecentKeys::Add(int64_t time_ms, uint64_t key_hash) {
  entries_[next_] = Entry{time_ms, key_hash};
  next_ = (next_ + 1) % kCapacity;
}

int64_t RecentKeys::DistinctSince(int64_t now_ms, int64_t span_ms) const {
  std::array<uint64_t, kCapacity> seen;
  int distinct = 0;
  for (const Entry& entry : entries_) {
    if (entry.time_ms == INT64_MIN || entry.time_ms <= now_ms - span_ms || entry.time_ms > now_ms) {
      continue;
    }
    bool repeat = false;
    for (int i = 0; i < distinct && !repeat; ++i) repeat = seen[i] == entry.key_hash;
    if (!repeat) seen[distinct++] = entry.key_hash;
  }
  return distinct;
}

}  // namespace vigil
