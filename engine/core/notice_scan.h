#pragma once

// What the notice scans find in one user's state: mandates that went dormant or came near their
// end within an interval, and a month's summary. Pure functions of the state, the policy and the
// times given, so that an engine that holds its users (EngineImpl, under their locks) and one
// whose users are stored elsewhere (SharedEngine, on each user as stored) find the same.
//
//   std::vector<Notice> found;
//   FindDormantAndExpiring("u-42", state, *policy, since_ms, now_ms, found);
//   std::optional<Notice> summary = MonthlySummary("u-42", state, *policy, month, now_ms);
//
// Thread-compatible: each reads only what it is given.

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/core/notice.h"
#include "engine/core/policy.h"
#include "engine/core/user_state.h"

namespace vigil {

// Appends MANDATE_DORMANT for each active mandate whose idle time reached the policy's
// dormant_after, and MANDATE_EXPIRING for each mandate not revoked whose end came within the
// policy's expiring_within, at a moment in (since_ms, now_ms]. Scans over consecutive
// intervals report each mandate once for each time it goes dormant and once before it ends.
void FindDormantAndExpiring(absl::string_view user_id, const UserState& state, const Policy& policy,
                            int64_t since_ms, int64_t now_ms, std::vector<Notice>& notices);

// OK when local month `month` (LocalCalendar::MonthNumber) can be summarised at `now_ms`: it is
// the current month or the one before, the only ones a user's state keeps totals of.
// INVALID_ARGUMENT otherwise.
absl::Status CheckSummaryMonth(int64_t month, int64_t now_ms, const Policy& policy);

// The user's PERIODIC_SUMMARY of `month`: the approved amount and count, less released amounts,
// by merchant (largest first), and the mandates in force at `now_ms` with their last use. None
// when the user had no approved payment in the month and has no mandate in force.
// REQUIRES: CheckSummaryMonth(month, now_ms, policy) is OK.
std::optional<Notice> MonthlySummary(absl::string_view user_id, const UserState& state,
                                     const Policy& policy, int64_t month, int64_t now_ms);

}  // namespace vigil
