#pragma once

// Durations in milliseconds, the unit of the engine's clock, for the tests.

#include <cstdint>

namespace vigil {

inline constexpr int64_t kMinute = 60'000;
inline constexpr int64_t kHour = 60 * kMinute;
// UTC+8, the shipped rules' calendar: its midnight is 16:00 UTC.
inline constexpr int64_t kEightHours = 8 * kHour;

}  // namespace vigil
