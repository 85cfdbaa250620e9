#include "engine/core/money.h"

#include "gtest/gtest.h"

namespace vigil {
namespace {

TEST(ParseAmountTest, ReadsMajorUnitsIntoMinorUnits) {
  EXPECT_EQ(*ParseAmount("199.99", "CNY"), 19999);
  EXPECT_EQ(*ParseAmount("200", "CNY"), 20000);
  EXPECT_EQ(*ParseAmount("200.1", "CNY"), 20010);
  EXPECT_EQ(*ParseAmount("1,000.00", "CNY"), 100000);
  EXPECT_EQ(*ParseAmount("0.01", "CNY"), 1);
  EXPECT_EQ(*ParseAmount("-0.50", "CNY"), -50);
  EXPECT_EQ(*ParseAmount("1500", "JPY"), 1500);
}

TEST(ParseAmountTest, RejectsWhatIsNotExactlyAnAmount) {
  for (const char* bad :
       {"", ".5", "5.", "1.234", "1e3", "abc", "1,00", "12 ", "99999999999999999999"}) {
    EXPECT_EQ(ParseAmount(bad, "CNY").status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ParseAmount("10.5", "JPY").ok());
}

TEST(ParseMoneyTest, ReadsAmountAndCurrency) {
  const auto money = ParseMoney("200.00 CNY");
  ASSERT_TRUE(money.ok());
  EXPECT_EQ(money->first, 20000);
  EXPECT_EQ(money->second, "CNY");
  EXPECT_FALSE(ParseMoney("200.00").ok());
  EXPECT_FALSE(ParseMoney("200 cny").ok());
  EXPECT_FALSE(ParseMoney("200 CNY extra").ok());
}

TEST(FormatAmountTest, WritesMinorUnitsAsMajor) {
  EXPECT_EQ(FormatAmount(19999, "CNY"), "199.99");
  EXPECT_EQ(FormatAmount(5, "CNY"), "0.05");
  EXPECT_EQ(FormatAmount(-50, "CNY"), "-0.50");
  EXPECT_EQ(FormatAmount(1500, "JPY"), "1500");
  EXPECT_EQ(FormatAmount(INT64_MIN, "CNY"), "-92233720368547758.08");
}

}  // namespace
}  // namespace vigil
