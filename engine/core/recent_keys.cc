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

std::vector<int64_t> RecentKeys::Save() const {
  std::vector<int64_t> saved;
  saved.reserve(1 + 2 * kCapacity);
  saved.push_back(next_);
  for (const Entry& entry : entries_) {
    saved.push_back(entry.time_ms);
    saved.push_back(static_cast<int64_t>(entry.key_hash));
  }
  return saved;
}

bool RecentKeys::Restore(absl::Span<const int64_t> saved) {
  if (saved.size() != 1 + 2 * kCapacity || saved[0] < 0 || saved[0] >= kCapacity) return false;
  next_ = static_cast<int>(saved[0]);
  for (int i = 0; i < kCapacity; ++i) {
    entries_[i] = Entry{saved[1 + 2 * i], static_cast<uint64_t>(saved[2 + 2 * i])};
  }
  return true;
}

}  // namespace vigil
