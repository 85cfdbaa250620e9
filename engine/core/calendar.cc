#include "engine/core/calendar.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace vigil {
namespace {

constexpr int64_t kMsPerDay = 24 * 60 * 60 * 1000;

// Floor division: instants before the epoch still land on the right day.
int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool ParseDigits(absl::string_view text, int* out) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return absl::SimpleAtoi(text, out);
}

struct YearMonthDay {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
};

// The proleptic Gregorian date `days` after 1970-01-01, in integer arithmetic over 400-year eras
// (H. Hinnant's civil_from_days). Every decision needs the day and month; this is several times
// faster than normalising an absl::CivilDay.
YearMonthDay CivilFromDays(int64_t days) {
  days += 719468;  // from 0000-03-01
  const int64_t era = FloorDiv(days, 146097);
  const int64_t day_of_era = days - era * 146097;
  const int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  const int64_t day_of_year =
      day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  const int64_t shifted_month = (5 * day_of_year + 2) / 153;  // March = 0
  const int day = static_cast<int>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  const int month = static_cast<int>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  return YearMonthDay{year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

}  // namespace

absl::CivilDay LocalCalendar::DayOf(int64_t epoch_ms) const {
  const YearMonthDay date = CivilFromDays(DayNumber(epoch_ms));
  return absl::CivilDay(date.year, date.month, date.day);
}

int64_t LocalCalendar::DayNumber(int64_t epoch_ms) const {
  return FloorDiv(epoch_ms + utc_offset_ms_, kMsPerDay);
}

int64_t LocalCalendar::MonthNumber(int64_t epoch_ms) const {
  const YearMonthDay date = CivilFromDays(DayNumber(epoch_ms));
  return (date.year - 1970) * 12 + (date.month - 1);
}

absl::StatusOr<int64_t> ParseUtcOffset(absl::string_view text) {
  if (text == "Z") return 0;
  int hours = 0;
  int minutes = 0;
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':' ||
      !ParseDigits(text.substr(1, 2), &hours) || !ParseDigits(text.substr(4, 2), &minutes) ||
      hours > 14 || minutes > 59) {
    return absl::InvalidArgumentError(
        absl::StrCat("UTC offset \"", text, "\" is not of the form +HH:MM or -HH:MM"));
  }
  const int64_t ms = (int64_t{hours} * 60 + minutes) * 60 * 1000;
  return text[0] == '-' ? -ms : ms;
}

absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view text) {
  int year = 0;
  int month = 0;
  int day = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' ||
      !ParseDigits(text.substr(0, 4), &year) || !ParseDigits(text.substr(5, 2), &month) ||
      !ParseDigits(text.substr(8, 2), &day)) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a YYYY-MM-DD date"));
  }
  const absl::CivilDay parsed(year, month, day);
  // CivilDay normalises 2023-02-30 to 2023-03-02; a date that does not survive is not real.
  if (parsed.year() != year || parsed.month() != month || parsed.day() != day || year < 1900) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a calendar date"));
  }
  return parsed;
}

int AgeOn(absl::CivilDay birth, absl::CivilDay on) {
  int age = static_cast<int>(on.year() - birth.year());
  if (on.month() < birth.month() || (on.month() == birth.month() && on.day() < birth.day())) {
    --age;
  }
  return age;
}

}  // namespace vigil
