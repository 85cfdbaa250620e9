#pragma once

// Sharded is a string-keyed map split into independently locked shards, so that callers working
// on different keys rarely meet on a lock. There is no global lock.
//
//   Sharded<UserState> users;
//   auto& shard = users.ShardFor(user_id);
//   absl::MutexLock lock(&shard.mu);
//   shard.map[user_id] ...
//
// Thread-safe as far as callers hold `mu` of a shard while touching its `map`.

#include <array>
#include <cstddef>
#include <string>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace vigil {

// The hash of `key` that picks its shard in a Sharded; a Map may keep it, so as not to hash keys
// again.
inline size_t ShardedHash(absl::string_view key) { return absl::Hash<absl::string_view>{}(key); }

// A string key that keeps up to 24 bytes inline, where std::string keeps 15: a table of such
// keys compares a key of that length in its own slot, which the lookup has just loaded, instead
// of following a pointer to another cache line. Device ids are often 16 to 24 characters. The
// same size as std::string (32 bytes); a longer key takes a heap buffer as a string would.
class InlineKey {
 public:
  static constexpr size_t kInline = 24;

  explicit InlineKey(absl::string_view key) : chars_(key.begin(), key.end()) {}

  absl::string_view view() const { return absl::string_view(chars_.data(), chars_.size()); }

 private:
  absl::InlinedVector<char, kInline> chars_;
};

// Hash and equality for maps keyed by InlineKey, looked up by any string: the hash is
// ShardedHash(), so the shard and the slot tags come from the same hash as for string keys.
struct InlineKeyHash {
  using is_transparent = void;
  size_t operator()(absl::string_view key) const { return ShardedHash(key); }
  size_t operator()(const InlineKey& key) const { return ShardedHash(key.view()); }
};
struct InlineKeyEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return View(a) == View(b);
  }
  static absl::string_view View(absl::string_view key) { return key; }
  static absl::string_view View(const InlineKey& key) { return key.view(); }
};
template <typename Value>
using InlineKeyMap = absl::flat_hash_map<InlineKey, Value, InlineKeyHash, InlineKeyEq>;

// `Map` may be a node-based map where values must not move (absl::node_hash_map), or a set of
// records that hold their own key, with a hash that is ShardedHash() of it.
template <typename Value, size_t kShards = 64,
          typename Map = absl::flat_hash_map<std::string, Value>>
class Sharded {
 public:
  // A cache line each: threads working on neighbouring shards do not invalidate each other's.
  struct alignas(ABSL_CACHELINE_SIZE) Shard {
    absl::Mutex mu;
    Map map ABSL_GUARDED_BY(mu);
  };

  Shard& ShardFor(absl::string_view key) { return ShardForHash(ShardedHash(key)); }
  // REQUIRES: hash == ShardedHash() of the key looked for.
  Shard& ShardForHash(size_t hash) {
    // The shard comes from the hash's high bits. The table inside a shard hashes the key the
    // same way and keeps the low 7 bits as each slot's tag: were the shard chosen by the low
    // bits, every key in a shard would share most of its tag, and each lookup would compare
    // (and fetch from memory) the keys of the whole probed group instead of about one.
    return shards_[(hash >> 32) % kShards];
  }

  // For walks over everything (tests, statistics); each shard must still be locked.
  std::array<Shard, kShards>& shards() { return shards_; }

  // How many entries there are, locking each shard in turn: for a scrape, not the hot path.
  size_t Count() {
    size_t total = 0;
    for (Shard& shard : shards_) {
      absl::MutexLock lock(&shard.mu);
      total += shard.map.size();
    }
    return total;
  }

 private:
  std::array<Shard, kShards> shards_;
};

}  // namespace vigil
