#include "engine/redis/key_slot.h"

#include "gtest/gtest.h"

namespace vigil::redis {
namespace {

TEST(KeySlotTest, Crc16IsXmodem) {
  // The check value of CRC-16/XMODEM, which Redis Cluster's specification quotes.
  EXPECT_EQ(Crc16("123456789"), 0x31C3);
  EXPECT_EQ(Crc16(""), 0);
}

TEST(KeySlotTest, SlotsAsRedisComputesThem) {
  // CLUSTER KEYSLOT on redis-server 7.0.
  EXPECT_EQ(KeySlot("foo"), 12182);
  EXPECT_EQ(KeySlot("bar"), 5061);
  EXPECT_EQ(KeySlot("somekey"), 11058);
}

TEST(KeySlotTest, AHashTagPutsKeysInOneSlot) {
  EXPECT_EQ(KeySlot("{u:42}:state"), KeySlot("{u:42}:txn:t-1"));
  EXPECT_EQ(KeySlot("{u:42}:state"), KeySlot("u:42"));
  EXPECT_EQ(HashedPart("{user1000}.following"), "user1000");
  // The first '{' and the first '}' after it; an empty tag hashes the whole key.
  EXPECT_EQ(HashedPart("foo{}{bar}"), "foo{}{bar}");
  EXPECT_EQ(HashedPart("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(HashedPart("foo{bar}{zap}"), "bar");
  EXPECT_EQ(HashedPart("no braces"), "no braces");
  EXPECT_EQ(HashedPart("open{only"), "open{only");
}

}  // namespace
}  // namespace vigil::redis
