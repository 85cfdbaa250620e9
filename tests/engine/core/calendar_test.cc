#include "engine/core/calendar.h"

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/engine/core/time_units.h"

namespace vigil {
namespace {

int64_t UtcMs(int y, int mo, int d, int h, int mi, int s) {
  return absl::ToUnixMillis(
      absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s), absl::UTCTimeZone()));
}

TEST(LocalCalendarTest, DayAndMonthAgreeWithAbseilOnEveryDayFrom1900To2200) {
  const LocalCalendar utc(0);
  constexpr int64_t kMsPerDay = 24 * 60 * 60 * 1000;
  const absl::CivilDay epoch(1970, 1, 1);
  for (absl::CivilDay day(1900, 1, 1); day < absl::CivilDay(2200, 1, 1); ++day) {
    const int64_t ms = (day - epoch) * kMsPerDay + 12 * 60 * 60 * 1000;
    ASSERT_EQ(utc.DayOf(ms), day);
    ASSERT_EQ(utc.MonthNumber(ms), (day.year() - 1970) * 12 + day.month() - 1) << day;
  }
}

TEST(LocalCalendarTest, DaysTurnAtLocalMidnight) {
  const LocalCalendar china(kEightHours);
  EXPECT_EQ(china.DayOf(UtcMs(2026, 11, 26, 15, 59, 59)), absl::CivilDay(2026, 11, 26));
  EXPECT_EQ(china.DayOf(UtcMs(2026, 11, 26, 16, 0, 0)), absl::CivilDay(2026, 11, 27));
  EXPECT_EQ(china.DayNumber(UtcMs(2026, 11, 26, 16, 0, 0)),
            china.DayNumber(UtcMs(2026, 11, 26, 15, 59, 59)) + 1);
  EXPECT_EQ(LocalCalendar(0).DayOf(UtcMs(2026, 11, 26, 16, 0, 0)), absl::CivilDay(2026, 11, 26));
}

TEST(LocalCalendarTest, MonthsTurnAtLocalMidnightOfTheFirst) {
  const LocalCalendar china(kEightHours);
  EXPECT_EQ(china.MonthNumber(UtcMs(2026, 11, 30, 16, 0, 0)),
            china.MonthNumber(UtcMs(2026, 11, 30, 15, 59, 59)) + 1);
  EXPECT_EQ(china.MonthNumber(UtcMs(1970, 1, 1, 0, 0, 0)), 0);
}

TEST(ParseUtcOffsetTest, AcceptsSignedHoursAndMinutes) {
  EXPECT_EQ(*ParseUtcOffset("+08:00"), kEightHours);
  EXPECT_EQ(*ParseUtcOffset("-05:30"), -(5 * 60 + 30) * 60 * 1000);
  EXPECT_EQ(*ParseUtcOffset("Z"), 0);
  for (const char* bad : {"", "8", "+8:00", "+08", "08:00", "+15:00", "+08:60", "+0a:00"}) {
    EXPECT_FALSE(ParseUtcOffset(bad).ok()) << bad;
  }
}

TEST(ParseDateTest, AcceptsOnlyRealDates) {
  EXPECT_EQ(*ParseDate("1966-11-27"), absl::CivilDay(1966, 11, 27));
  EXPECT_EQ(*ParseDate("2024-02-29"), absl::CivilDay(2024, 2, 29));
  for (const char* bad : {"2023-02-29", "1990-13-01", "1990-00-10", "1990-1-01", "19900101",
                          "1990/01/01", "", "1990-01-01x", "+990-01-01", "1800-01-01"}) {
    EXPECT_EQ(ParseDate(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(AgeOnTest, CountsCompletedYears) {
  const absl::CivilDay birth(1966, 11, 27);
  EXPECT_EQ(AgeOn(birth, absl::CivilDay(2026, 11, 26)), 59);
  EXPECT_EQ(AgeOn(birth, absl::CivilDay(2026, 11, 27)), 60);
  EXPECT_EQ(AgeOn(birth, absl::CivilDay(2027, 1, 1)), 60);
}

TEST(AgeOnTest, LeapDayBirthdaysTurnOnFirstOfMarchInCommonYears) {
  const absl::CivilDay birth(1964, 2, 29);
  EXPECT_EQ(AgeOn(birth, absl::CivilDay(2025, 2, 28)), 60);
  EXPECT_EQ(AgeOn(birth, absl::CivilDay(2024, 2, 28)), 59);
  EXPECT_EQ(AgeOn(birth, absl::CivilDay(2024, 2, 29)), 60);
  EXPECT_EQ(AgeOn(birth, absl::CivilDay(2023, 3, 1)), 59);
  EXPECT_EQ(AgeOn(absl::CivilDay(1963, 2, 28), absl::CivilDay(2023, 2, 28)), 60);
}

}  // namespace
}  // namespace vigil
