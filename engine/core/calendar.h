#pragma once

// Calendar arithmetic in a fixed UTC offset: which local day and month an instant falls in,
// parsing birth dates, and a person's age on a day. Pure functions; thread-safe.

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"

namespace vigil {

// Days are counted in local time at a fixed offset from UTC (China Standard Time is +08:00 and
// has no daylight saving), so a day boundary is the same instant every day.
class LocalCalendar {
 public:
  explicit LocalCalendar(int64_t utc_offset_ms = 0) : utc_offset_ms_(utc_offset_ms) {}

  int64_t utc_offset_ms() const { return utc_offset_ms_; }
  // The local calendar day containing `epoch_ms`.
  absl::CivilDay DayOf(int64_t epoch_ms) const;
  // Days since 1970-01-01 in local time; consecutive days have consecutive numbers.
  int64_t DayNumber(int64_t epoch_ms) const;
  // Months since 1970-01 in local time.
  int64_t MonthNumber(int64_t epoch_ms) const;

 private:
  int64_t utc_offset_ms_;
};

// Parses "+08:00", "-05:30", "Z" or "+00:00" into milliseconds east of UTC.
absl::StatusOr<int64_t> ParseUtcOffset(absl::string_view text);

// Parses a strict YYYY-MM-DD date that exists in the calendar (no 2023-02-29).
// INVALID_ARGUMENT otherwise.
absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view text);

// Completed years from `birth` to `on`. Someone born on 29 February turns a year older on
// 1 March in common years.
int AgeOn(absl::CivilDay birth, absl::CivilDay on);

}  // namespace vigil
