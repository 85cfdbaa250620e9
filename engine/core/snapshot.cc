#include "engine/core/snapshot.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/core/id_mint.h"
#include "engine/core/interned.h"
#include "engine/core/validation.h"

namespace vigil {

UserSnapshot SnapshotOf(absl::string_view user_id, const UserState& state) {
  UserSnapshot snapshot;
  snapshot.user_id = std::string(user_id);
  if (state.has_profile) snapshot.profile = state.Profile(user_id);
  snapshot.mandates.reserve(state.mandates.size());
  for (const MandateState& mandate : state.mandates) {
    snapshot.mandates.push_back(MandateSnapshot{mandate.mandate.ToMandate(user_id),
                                                mandate.day.Save(), mandate.month.Save(),
                                                mandate.month.SavePrevious(),
                                                mandate.windows.Save()});
  }
  snapshot.windows = state.windows.Save();
  snapshot.day = state.day.Save();
  snapshot.strong_auth_failures = state.strong_auth_failures;
  snapshot.approvals_since_strong_auth = state.approvals_since_strong_auth;
  snapshot.attempts_since_strong_auth = state.attempts_since_strong_auth;
  return snapshot;
}

TransactionSnapshot SnapshotOf(const TransactionRecord& record) {
  TransactionSnapshot snapshot;
  snapshot.transaction_id = std::string(record.id(TransactionRecord::kTransaction));
  snapshot.user_id = std::string(record.id(TransactionRecord::kUser));
  snapshot.merchant_id = std::string(record.id(TransactionRecord::kMerchant));
  snapshot.amount_minor = record.amount_minor;
  snapshot.currency = std::string(record.id(TransactionRecord::kCurrency));
  snapshot.device_id = std::string(record.id(TransactionRecord::kDevice));
  snapshot.mandate_id = std::string(record.id(TransactionRecord::kMandate));
  snapshot.time_ms = record.time_ms;
  snapshot.seen_ms = record.seen_ms;
  snapshot.approved = record.approved;
  snapshot.released = record.released;
  snapshot.outcome = record.outcome;
  snapshot.response = record.Response();
  return snapshot;
}

absl::Status RestoreUser(const UserSnapshot& saved, UserState& state) {
  if (saved.profile.has_value()) {
    std::optional<absl::CivilDay> birth_date;
    if (!saved.profile->birth_date.empty()) {
      absl::StatusOr<absl::CivilDay> birth = ParseDate(saved.profile->birth_date);
      if (!birth.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("stored profile of \"", saved.user_id, "\": ", birth.status().message()));
      }
      birth_date = *birth;
    }
    state.SetProfile(*saved.profile, birth_date);
  }
  for (const MandateSnapshot& mandate : saved.mandates) {
    if (!IdMint::MandateNumber(mandate.mandate.mandate_id).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat("stored mandate of \"", saved.user_id,
                                                     "\" has a malformed id \"",
                                                     mandate.mandate.mandate_id, "\""));
    }
    MandateState restored{StoredMandate::From(mandate.mandate), {}, {}, {}};
    restored.day.Restore(mandate.day);
    restored.month.Restore(mandate.month, mandate.previous_month);
    restored.windows.Restore(mandate.windows);
    state.mandates.push_back(std::move(restored));
  }
  state.windows.Restore(saved.windows);
  state.day.Restore(saved.day);
  state.strong_auth_failures = static_cast<int32_t>(saved.strong_auth_failures);
  state.approvals_since_strong_auth = static_cast<int32_t>(saved.approvals_since_strong_auth);
  state.attempts_since_strong_auth = static_cast<int32_t>(saved.attempts_since_strong_auth);
  return absl::OkStatus();
}

std::unique_ptr<TransactionRecord> RestoreTransaction(const TransactionSnapshot& saved) {
  auto record = std::make_unique<TransactionRecord>();
  record->pending = false;
  record->ids = PackedStrings<TransactionRecord::kIdCount>(
      {saved.transaction_id, saved.user_id, saved.merchant_id, saved.currency, saved.device_id,
       saved.mandate_id, saved.response.decision_id});
  record->amount_minor = saved.amount_minor;
  record->time_ms = saved.time_ms;
  // Records saved before the engine kept seen_ms have none: their charge's time stands in.
  record->seen_ms = saved.seen_ms != 0 ? saved.seen_ms : saved.time_ms;
  record->approved = saved.approved;
  record->released = saved.released;
  record->outcome = saved.outcome;
  record->decision = saved.response.decision;
  record->notify_user = saved.response.notify_user;
  record->rules_version = *InternString(saved.response.rules_version);
  // Decoding interned them.
  record->reasons.assign(saved.response.reasons.begin(), saved.response.reasons.end());
  record->enforced = static_cast<uint16_t>(record->reasons.size());
  record->reasons.insert(record->reasons.end(), saved.response.shadow_reasons.begin(),
                         saved.response.shadow_reasons.end());
  return record;
}

}  // namespace vigil
