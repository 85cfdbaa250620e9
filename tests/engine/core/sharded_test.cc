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

}  // namespace
}  // namespace vigil
