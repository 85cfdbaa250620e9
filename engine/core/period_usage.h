#pragma once

// PeriodUsage is the approved amount and count inside one calendar period (a local day or a
// month, numbered by LocalCalendar). It keeps only the current period: moving to a later one
// starts from zero, which is how a daily cap resets at local midnight.
//
// Thread-compatible: the owner serialises access.

#include <algorithm>
#include <cstdint>
#include <limits>

namespace vigil {

class PeriodUsage {
 public:
  // Amount used in `period`; zero for any period other than the current one.
  int64_t AmountIn(int64_t period) const { return period == period_ ? amount_minor_ : 0; }
  int64_t CountIn(int64_t period) const { return period == period_ ? count_ : 0; }

  // Adds to `period`. A later period replaces the current one; an earlier one (an event time
  // out of order) no longer affects any cap and is ignored.
  void Add(int64_t period, int64_t amount_minor) {
    if (period > period_) {
      period_ = static_cast<int32_t>(period);
      amount_minor_ = 0;
      count_ = 0;
    }
    if (period != period_) return;
    amount_minor_ += amount_minor;
    count_ += 1;
  }

  // Takes back an amount that Add() recorded in `period`, if that period is still current.
  void Remove(int64_t period, int64_t amount_minor) {
    if (period != period_ || count_ == 0) return;
    amount_minor_ -= amount_minor;
    count_ -= 1;
  }

  struct Saved {
    int64_t period;
    int64_t amount_minor;
    int64_t count;
  };
  Saved Save() const { return Saved{period_, amount_minor_, count_}; }
  void Restore(const Saved& saved) {
    period_ = static_cast<int32_t>(std::clamp<int64_t>(saved.period, kNone, kMax32));
    amount_minor_ = saved.amount_minor;
    count_ = static_cast<int32_t>(std::clamp<int64_t>(saved.count, 0, kMax32));
  }

 private:
  // Day and month numbers since the epoch fit in 32 bits, as do counts within one of them.
  static constexpr int32_t kNone = std::numeric_limits<int32_t>::min();  // no period yet
  static constexpr int32_t kMax32 = std::numeric_limits<int32_t>::max();

  int32_t period_ = kNone;
  int32_t count_ = 0;
  int64_t amount_minor_ = 0;
};

// A mandate's month: PeriodUsage for the current month, and the month before it kept, so that
// the monthly summary sent after a month ends still has its totals when charges of the new
// month have begun.
class MonthUsage {
 public:
  int64_t AmountIn(int64_t month) const {
    return month == previous_.period ? previous_.amount_minor : current_.AmountIn(month);
  }
  int64_t CountIn(int64_t month) const {
    return month == previous_.period ? previous_.count : current_.CountIn(month);
  }

  void Add(int64_t month, int64_t amount_minor) {
    if (month > current_.Save().period) previous_ = current_.Save();
    current_.Add(month, amount_minor);
  }
  // Takes back an amount of the current month or the one before (a refund reported after the
  // month ended still lowers that month's summary).
  void Remove(int64_t month, int64_t amount_minor) {
    if (month == previous_.period && previous_.count > 0) {
      previous_.amount_minor -= amount_minor;
      previous_.count -= 1;
      return;
    }
    current_.Remove(month, amount_minor);
  }

  PeriodUsage::Saved Save() const { return current_.Save(); }
  PeriodUsage::Saved SavePrevious() const { return previous_; }
  void Restore(const PeriodUsage::Saved& current, const PeriodUsage::Saved& previous) {
    current_.Restore(current);
    previous_ = previous;
  }

 private:
  static constexpr PeriodUsage::Saved kNone{std::numeric_limits<int64_t>::min(), 0, 0};

  PeriodUsage current_;
  PeriodUsage::Saved previous_ = kNone;
};

}  // namespace vigil
