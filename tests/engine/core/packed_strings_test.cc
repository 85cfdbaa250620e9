#include "engine/core/packed_strings.h"

#include <string>

#include "gtest/gtest.h"

namespace vigil {
namespace {

TEST(PackedStringsTest, KeepsEachStringIncludingEmptyOnes) {
  const std::string long_id(200, 'x');
  PackedStrings<4> packed({"user-1", absl::string_view(), long_id, ""});
  EXPECT_EQ(packed[0], "user-1");
  EXPECT_EQ(packed[1], "");
  EXPECT_EQ(packed[2], long_id);
  EXPECT_EQ(packed[3], "");

  const PackedStrings<4> copy = packed;
  packed = PackedStrings<4>({"other", "a", "b", "c"});
  EXPECT_EQ(copy[0], "user-1") << "a copy owns its own bytes";
  EXPECT_EQ(copy[2], long_id);
  EXPECT_EQ(packed[3], "c");
}

TEST(PackedStringsTest, AllEmptyAndDefaultAreEmpty) {
  const PackedStrings<2> none;
  const PackedStrings<2> empty({absl::string_view(), ""});
  EXPECT_EQ(none[1], "");
  EXPECT_EQ(empty[0], "");
  EXPECT_EQ(PackedStrings<2>(empty)[1], "");
}

}  // namespace
}  // namespace vigil
