#include "engine/core/user_state.h"

namespace vigil {

std::optional<absl::CivilDay> UserState::birth_date() const {
  if (birth_day == kNoBirthDay) return std::nullopt;
  return absl::CivilDay(1970, 1, 1) + birth_day;
}

UserProfile UserState::ProfileNumbers() const {
  UserProfile profile;
  profile.risk_assessment_completed = risk_assessment_completed;
  profile.per_txn_limit_minor = per_txn_limit_minor;
  profile.daily_limit_minor = daily_limit_minor;
  profile.notify_every_transaction = notify_every_transaction;
  return profile;
}

UserProfile UserState::Profile(absl::string_view user_id) const {
  UserProfile profile = ProfileNumbers();
  profile.user_id = std::string(user_id);
  if (birth_day != kNoBirthDay) profile.birth_date = absl::FormatCivilTime(*birth_date());
  return profile;
}

void UserState::SetProfile(const UserProfile& profile, std::optional<absl::CivilDay> birth_date) {
  has_profile = true;
  birth_day = birth_date.has_value()
                  ? static_cast<int32_t>(*birth_date - absl::CivilDay(1970, 1, 1))
                  : kNoBirthDay;
  risk_assessment_completed = profile.risk_assessment_completed;
  per_txn_limit_minor = profile.per_txn_limit_minor;
  daily_limit_minor = profile.daily_limit_minor;
  notify_every_transaction = profile.notify_every_transaction;
}

}  // namespace vigil
