#pragma once

// UserState is everything the engine holds for one user: profile, mandates, calendar usage,
// velocity windows and strong-authentication counters. Compact, since there is one per user
// for millions of users. Guarded by the lock of the user's shard in the engine's user table.

#include <climits>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/node_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "engine/core/mandate_book.h"
#include "engine/core/period_usage.h"
#include "engine/core/sharded.h"
#include "engine/core/subject_windows.h"
#include "engine/core/types.h"

namespace vigil {

struct UserState {
  MandateList mandates;
  SubjectWindows windows;
  PeriodUsage day;
  // The profile, less the user id (the table's key) and with the birth date as a day number.
  int64_t per_txn_limit_minor = 0;
  int64_t daily_limit_minor = 0;
  int32_t birth_day = kNoBirthDay;  // days since 1970-01-01
  bool has_profile = false;
  bool risk_assessment_completed = false;
  bool notify_every_transaction = false;
  // Since the last STRONG_AUTH_PASSED.
  int32_t strong_auth_failures = 0;
  int32_t approvals_since_strong_auth = 0;
  int32_t attempts_since_strong_auth = 0;

  static constexpr int32_t kNoBirthDay = INT32_MIN;
  std::optional<absl::CivilDay> birth_date() const;
  // REQUIRES: has_profile.
  UserProfile Profile(absl::string_view user_id) const;
  // The profile's numbers and flags, its strings left empty: what the rules read, without
  // building strings on the hot path. REQUIRES: has_profile.
  UserProfile ProfileNumbers() const;
  void SetProfile(const UserProfile& profile, std::optional<absl::CivilDay> birth_date);
};

// 1,024 shards: a decision holds its user's shard (and its device's) throughout, and under
// skewed traffic the calls of two server threads met on the same one of 64 often enough for
// one to wait for the other some seventy times a second. A node map: a
// user's key and state never move, and users are never removed, so the mandate index may keep
// a pointer to the key.
inline constexpr size_t kStateShards = 1024;
using UserTable = Sharded<UserState, kStateShards, absl::node_hash_map<std::string, UserState>>;
using UserShard = UserTable::Shard;
// Device and merchant windows. Their ids inline in the slot, up to 24 bytes: the key compare of
// a lookup reads no other cache line.
using SubjectTable = Sharded<SubjectWindows, kStateShards, InlineKeyMap<SubjectWindows>>;
using SubjectShard = SubjectTable::Shard;

// The user's state, created on first use.
inline UserState& StateOf(UserShard& shard, absl::string_view user_id)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
  return shard.map[user_id];
}
// The user's state, or nullptr.
inline UserState* FindState(UserShard& shard, absl::string_view user_id)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu) {
  auto it = shard.map.find(user_id);
  return it == shard.map.end() ? nullptr : &it->second;
}

}  // namespace vigil
