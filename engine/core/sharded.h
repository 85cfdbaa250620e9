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
#include "absl/hash/hash.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace vigil {

// The hash of `key` that picks its shard in a Sharded; a Map may keep it, so as not to hash keys
// again.
inline size_t ShardedHash(absl::string_view key) { return absl::Hash<absl::string_view>{}(key); }

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

 private:
  std::array<Shard, kShards> shards_;
};

}  // namespace vigil
