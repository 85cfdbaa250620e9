#include "engine/core/sharded.h"

#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace vigil {
namespace {

TEST(ShardedTest, SpreadsKeysOverTheShards) {
  Sharded<int, 64> table;
  std::set<const void*> used;
  for (int i = 0; i < 10'000; ++i) used.insert(&table.ShardFor(absl::StrCat("user-", i)));
  EXPECT_EQ(used.size(), 64u);
}

// A shard's table tags each slot with the low 7 bits of the key's hash and compares the keys
// only of slots whose tag matches. Keys that land in one shard must not share those bits, or
// every lookup would compare (and fetch) the keys of the whole probed group.
TEST(ShardedTest, KeysOfOneShardKeepTheirTableTagsApart) {
  Sharded<int, 1024> table;
  auto& shard = table.ShardFor("user-0");
  std::set<size_t> tags;
  int in_shard = 0;
  for (int i = 0; i < 500'000; ++i) {
    const std::string key = absl::StrCat("user-", i);
    if (&table.ShardFor(key) != &shard) continue;
    ++in_shard;
    tags.insert(absl::Hash<absl::string_view>{}(key)&0x7f);
  }
  ASSERT_GT(in_shard, 300);
  // About 490 keys over 128 tags: nearly all of them taken.
  EXPECT_GT(tags.size(), 100u);
}

bool StoredInside(const InlineKey& key) {
  const char* const self = reinterpret_cast<const char*>(&key);
  return key.view().data() >= self && key.view().data() < self + sizeof(key);
}

TEST(InlineKeyTest, KeepsUpTo24BytesInsideItselfAndLongerOnesWhole) {
  static_assert(sizeof(InlineKey) == sizeof(std::string));
  const std::string device(24, 'd');
  const InlineKey short_key(device);
  EXPECT_EQ(short_key.view(), device);
  EXPECT_TRUE(StoredInside(short_key)) << "a 24-byte id compares without another cache line";

  const std::string uuid = "7f0c2a1e-9b3d-4c55-8e21-0a6b5d4c3f2e";
  const InlineKey long_key(uuid);
  EXPECT_EQ(long_key.view(), uuid);
  EXPECT_FALSE(StoredInside(long_key));
  EXPECT_EQ(InlineKey("").view(), "");
}

TEST(InlineKeyTest, MapsFindByAnyStringWithTheShardingHash) {
  Sharded<int, 16, InlineKeyMap<int>> table;
  for (int i = 0; i < 1000; ++i) {
    const std::string key =
        absl::StrCat(i % 2 ? "bench-device-" : "a-device-id-longer-than-24-", i);
    auto& shard = table.ShardFor(key);
    absl::MutexLock lock(&shard.mu);
    shard.map[key] = i;
  }
  for (int i = 0; i < 1000; ++i) {
    const std::string key =
        absl::StrCat(i % 2 ? "bench-device-" : "a-device-id-longer-than-24-", i);
    auto& shard = table.ShardFor(key);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.map.find(absl::string_view(key));
    ASSERT_NE(it, shard.map.end()) << key;
    EXPECT_EQ(it->first.view(), key);
    EXPECT_EQ(it->second, i);
    EXPECT_EQ(shard.map.hash_function()(it->first), ShardedHash(key));
  }
  auto& shard = table.ShardFor("bench-device-2");
  absl::MutexLock lock(&shard.mu);
  EXPECT_EQ(shard.map.find("bench-device-2"), shard.map.end()) << "never inserted";
}

}  // namespace
}  // namespace vigil
