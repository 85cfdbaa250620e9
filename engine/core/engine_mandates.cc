// The mandate lifecycle and profiles: EngineImpl's calls that are not Authorize or outcomes.

#include <string>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/core/engine_impl.h"
#include "engine/core/snapshot.h"
#include "engine/core/status_macros.h"
#include "engine/core/validation.h"

namespace vigil {
namespace {

// How far ahead of vigild's clock a caller's consent time may be: their clocks differ.
constexpr int64_t kConsentClockSkewMs = 60 * 1000;

// Whether the grant carries evidence of the user's consent, and a usable end date.
// FAILED_PRECONDITION without explicit opt-in, terms or a consent time; INVALID_ARGUMENT for a
// consent dated after the grant or an end date that has passed.
absl::Status CheckConsent(const GrantMandateRequest& request, int64_t now_ms) {
  if (!request.consent.explicit_opt_in) {
    return absl::FailedPreconditionError(
        "consent.explicit_opt_in: password-free payment needs the user's explicit opt-in; it is "
        "never on by default");
  }
  if (request.consent.terms_version.empty()) {
    return absl::FailedPreconditionError(
        "consent.terms_version: the version of the terms the user accepted is required");
  }
  // When the user consented is part of the evidence of consent: without it, or dated later than
  // the grant itself, the consent proves nothing. A minute of clock skew between the caller and
  // vigild is allowed.
  if (request.consent.consented_at_ms == 0) {
    return absl::FailedPreconditionError(
        "consent.consented_at_ms: when the user consented is part of the evidence of consent "
        "and is required");
  }
  if (request.consent.consented_at_ms > now_ms + kConsentClockSkewMs) {
    return absl::InvalidArgumentError(
        absl::StrCat("consent.consented_at_ms: ", request.consent.consented_at_ms,
                     " is in the future; the consent must come before the grant"));
  }
  if (request.expires_at_ms != 0 && request.expires_at_ms <= now_ms) {
    return absl::InvalidArgumentError(
        absl::StrCat("expires_at_ms: ", request.expires_at_ms, " is not in the future"));
  }
  return absl::OkStatus();
}

// The mandate a grant creates, active from now.
Mandate NewMandate(const GrantMandateRequest& request, std::string mandate_id, int64_t now_ms) {
  Mandate mandate;
  mandate.mandate_id = std::move(mandate_id);
  mandate.user_id = request.user_id;
  mandate.merchant_id = request.merchant_id;
  mandate.status = MandateStatus::kActive;
  mandate.expires_at_ms = request.expires_at_ms;
  mandate.per_txn_limit_minor = request.per_txn_limit_minor;
  mandate.daily_limit_minor = request.daily_limit_minor;
  mandate.monthly_limit_minor = request.monthly_limit_minor;
  mandate.consent = request.consent;
  mandate.created_at_ms = now_ms;
  return mandate;
}

// The notice of a mandate whose status a person changed to `status`.
NoticeKind StatusNotice(MandateStatus status) {
  switch (status) {
    case MandateStatus::kPaused:
      return NoticeKind::kMandatePaused;
    case MandateStatus::kRevoked:
      return NoticeKind::kMandateRevoked;
    default:
      return NoticeKind::kMandateResumed;
  }
}

}  // namespace

void EngineImpl::LogMandate(const Mandate& mandate, int64_t now_ms, StateChange& change) const {
  if (!journaled()) return;
  DecisionLogEntry entry;
  entry.time_ms = now_ms;
  entry.mandate = mandate;
  change.log.push_back(std::move(entry));
}

absl::StatusOr<Mandate> EngineImpl::GrantMandate(const GrantMandateRequest& request) {
  VIGIL_RETURN_IF_ERROR(ValidateGrant(request));
  const std::shared_ptr<const Policy> policy = policy_.Get();

  UserShard& shard = users_.ShardFor(request.user_id);
  absl::ReleasableMutexLock user_lock(&shard.mu);
  // Every change to a user reads the time under the user's lock: the log's order by time is
  // then the order the user's changes were made in, which replays follow.
  const int64_t now_ms = clock_->NowMs();
  VIGIL_RETURN_IF_ERROR(CheckConsent(request, now_ms));
  auto& grant_shard = grants_.ShardFor(request.request_id);
  if (!request.request_id.empty()) {
    absl::ReleasableMutexLock lock(&grant_shard.mu);
    auto it = grant_shard.map.find(request.request_id);
    if (it != grant_shard.map.end()) {
      if (!(it->second.request == request)) {
        return absl::AlreadyExistsError(absl::StrCat("request_id: \"", request.request_id,
                                                     "\" was already used for a different grant"));
      }
      // Same user, so the mandate lives in the shard we hold.
      for (const MandateState& existing : FindState(shard, request.user_id)->mandates) {
        if (existing.mandate.mandate_id() == it->second.mandate_id) {
          Mandate view = existing.mandate.View(request.user_id, *policy, now_ms);
          const uint64_t sequence = LastSequence();
          lock.Release();
          user_lock.Release();
          VIGIL_RETURN_IF_ERROR(Durable(sequence));
          return view;
        }
      }
      return absl::InternalError("granted mandate is missing");
    }
  }

  VIGIL_RETURN_IF_ERROR(Writable());
  UserState& state = StateOf(shard, request.user_id);
  const std::optional<UserProfile> profile =
      state.has_profile ? std::optional<UserProfile>(state.Profile(request.user_id)) : std::nullopt;
  VIGIL_RETURN_IF_ERROR(
      policy->CheckGrant(request, policy->Segment(AgeAt(state.birth_date(), *policy, now_ms)),
                         profile.has_value() ? &*profile : nullptr));

  const Mandate mandate = NewMandate(request, ids_.MandateId(), now_ms);

  if (!request.request_id.empty()) {
    absl::MutexLock lock(&grant_shard.mu);
    auto [it, inserted] = grant_shard.map.try_emplace(request.request_id);
    // Another user's grant took this request_id since we looked.
    if (!inserted) {
      return absl::AlreadyExistsError(absl::StrCat("request_id: \"", request.request_id,
                                                   "\" was already used for a different grant"));
    }
    it->second = GrantRecord{request, mandate.mandate_id, now_ms};
  }
  mandate_owners_.Add(mandate.mandate_id, shard.map.find(request.user_id)->first);
  state.mandates.push_back(MandateState{StoredMandate::From(mandate), {}, {}, {}});
  Mandate view = state.mandates.back().mandate.View(request.user_id, *policy, now_ms);
  StateChange change;
  change.users.push_back(SnapshotOf(request.user_id, state));
  if (!request.request_id.empty()) {
    change.grants.push_back(GrantSnapshot{request, mandate.mandate_id, now_ms});
  }
  LogMandate(view, now_ms, change);
  change.notices.push_back(
      MandateNotice(NoticeKind::kMandateGranted, view, now_ms, policy->calendar()));
  const uint64_t sequence = Append(std::move(change));
  user_lock.Release();
  VIGIL_RETURN_IF_ERROR(Durable(sequence));
  return view;
}

absl::StatusOr<Mandate> EngineImpl::GetMandate(absl::string_view mandate_id) {
  VIGIL_RETURN_IF_ERROR(ValidateId("mandate_id", mandate_id));
  const std::optional<std::string> owner = mandate_owners_.OwnerOf(mandate_id);
  if (!owner.has_value()) {
    return absl::NotFoundError(absl::StrCat("mandate_id: no mandate \"", mandate_id, "\""));
  }
  return ChangeMandate(mandate_id, *owner, nullptr);
}

template <typename Change>
absl::StatusOr<Mandate> EngineImpl::ChangeMandate(absl::string_view mandate_id,
                                                  absl::string_view user_id, Change change) {
  VIGIL_RETURN_IF_ERROR(ValidateId("mandate_id", mandate_id));
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  const std::optional<std::string> owner = mandate_owners_.OwnerOf(mandate_id);
  if (!owner.has_value()) {
    return absl::NotFoundError(absl::StrCat("mandate_id: no mandate \"", mandate_id, "\""));
  }
  if (*owner != user_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("user_id: \"", user_id, "\" does not own mandate \"", mandate_id, "\""));
  }
  const std::shared_ptr<const Policy> policy = policy_.Get();
  constexpr bool kReadOnly = std::is_same_v<Change, std::nullptr_t>;
  if (!kReadOnly) VIGIL_RETURN_IF_ERROR(Writable());
  UserShard& shard = users_.ShardFor(user_id);
  absl::ReleasableMutexLock lock(&shard.mu);
  const int64_t now_ms = clock_->NowMs();
  UserState* state = FindState(shard, user_id);
  if (state != nullptr) {
    for (MandateState& mandate : state->mandates) {
      if (mandate.mandate.mandate_id() != mandate_id) continue;
      uint64_t sequence = LastSequence();
      const MandateStatus before = mandate.mandate.status;
      if constexpr (!kReadOnly) VIGIL_RETURN_IF_ERROR(change(mandate, now_ms));
      Mandate view = mandate.mandate.View(user_id, *policy, now_ms);
      if constexpr (!kReadOnly) {
        StateChange changed;
        changed.users.push_back(SnapshotOf(user_id, *state));
        LogMandate(view, now_ms, changed);
        // The user is told of a change, not of a call that left the status as it was.
        if (mandate.mandate.status != before) {
          changed.notices.push_back(MandateNotice(StatusNotice(mandate.mandate.status), view,
                                                  now_ms, policy->calendar()));
        }
        sequence = Append(std::move(changed));
      }
      lock.Release();
      if (kReadOnly) {
        AwaitVisible(sequence);
      } else {
        VIGIL_RETURN_IF_ERROR(Durable(sequence));
      }
      return view;
    }
  }
  return absl::InternalError(absl::StrCat("mandate \"", mandate_id, "\" is indexed but missing"));
}

absl::StatusOr<std::vector<Mandate>> EngineImpl::ListMandates(absl::string_view user_id,
                                                              bool include_revoked) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  const std::shared_ptr<const Policy> policy = policy_.Get();
  const int64_t now_ms = clock_->NowMs();
  UserShard& shard = users_.ShardFor(user_id);
  std::vector<Mandate> mandates;
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&shard.mu);
    if (const UserState* state = FindState(shard, user_id); state != nullptr) {
      for (const MandateState& mandate : state->mandates) {
        if (!include_revoked && mandate.mandate.status == MandateStatus::kRevoked) continue;
        mandates.push_back(mandate.mandate.View(user_id, *policy, now_ms));
      }
    }
    sequence = LastSequence();
  }
  AwaitVisible(sequence);
  return mandates;
}

absl::StatusOr<Mandate> EngineImpl::RevokeMandate(absl::string_view mandate_id,
                                                  absl::string_view user_id,
                                                  absl::string_view reason) {
  VIGIL_RETURN_IF_ERROR(ValidateOptionalId("reason", reason));
  return ChangeMandate(mandate_id, user_id, [reason](MandateState& state, int64_t now_ms) {
    StoredMandate& mandate = state.mandate;
    if (mandate.status != MandateStatus::kRevoked) mandate.Revoke(now_ms, reason);
    return absl::OkStatus();
  });
}

absl::StatusOr<Mandate> EngineImpl::PauseMandate(absl::string_view mandate_id,
                                                 absl::string_view user_id) {
  return ChangeMandate(mandate_id, user_id, [mandate_id](MandateState& state, int64_t now_ms) {
    StoredMandate& mandate = state.mandate;
    if (mandate.status == MandateStatus::kRevoked) {
      return absl::FailedPreconditionError(
          absl::StrCat("mandate \"", mandate_id, "\" is revoked and cannot be paused"));
    }
    if (mandate.Expired(now_ms)) {
      return absl::FailedPreconditionError(
          absl::StrCat("mandate \"", mandate_id, "\" has expired and cannot be paused"));
    }
    mandate.status = MandateStatus::kPaused;
    return absl::OkStatus();
  });
}

absl::StatusOr<Mandate> EngineImpl::ResumeMandate(absl::string_view mandate_id,
                                                  absl::string_view user_id) {
  return ChangeMandate(mandate_id, user_id, [mandate_id](MandateState& state, int64_t now_ms) {
    StoredMandate& mandate = state.mandate;
    if (mandate.status == MandateStatus::kRevoked) {
      return absl::FailedPreconditionError(absl::StrCat(
          "mandate \"", mandate_id, "\" is revoked and can never be resumed; grant a new one"));
    }
    if (mandate.Expired(now_ms)) {
      return absl::FailedPreconditionError(
          absl::StrCat("mandate \"", mandate_id, "\" has expired and cannot be resumed"));
    }
    mandate.status = MandateStatus::kActive;
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Mandate>> EngineImpl::RevokeAllMandates(absl::string_view user_id,
                                                                   absl::string_view reason) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  VIGIL_RETURN_IF_ERROR(ValidateOptionalId("reason", reason));
  const std::shared_ptr<const Policy> policy = policy_.Get();
  VIGIL_RETURN_IF_ERROR(Writable());
  UserShard& shard = users_.ShardFor(user_id);
  std::vector<Mandate> revoked;
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&shard.mu);
    const int64_t now_ms = clock_->NowMs();
    if (UserState* state = FindState(shard, user_id); state != nullptr) {
      for (MandateState& entry : state->mandates) {
        StoredMandate& mandate = entry.mandate;
        if (mandate.status == MandateStatus::kRevoked) continue;
        mandate.Revoke(now_ms, reason);
        revoked.push_back(mandate.View(user_id, *policy, now_ms));
      }
      if (!revoked.empty()) {
        StateChange change;
        change.users.push_back(SnapshotOf(user_id, *state));
        for (const Mandate& mandate : revoked) LogMandate(mandate, now_ms, change);
        change.notices.push_back(RevokeAllNotice(user_id, revoked, now_ms));
        sequence = Append(std::move(change));
      }
    }
  }
  VIGIL_RETURN_IF_ERROR(Durable(sequence));
  return revoked;
}

absl::StatusOr<UserProfile> EngineImpl::PutUserProfile(const UserProfile& profile) {
  VIGIL_RETURN_IF_ERROR(ValidateProfile(profile));
  std::optional<absl::CivilDay> birth_date;
  if (!profile.birth_date.empty()) birth_date = *ParseDate(profile.birth_date);
  const std::shared_ptr<const Policy> policy = policy_.Get();
  const int64_t now_ms = clock_->NowMs();
  // A birth date after today would make the user's age negative, and so never elderly: the
  // stricter policy would silently not apply.
  if (birth_date.has_value() && *birth_date > policy->calendar().DayOf(now_ms)) {
    return absl::InvalidArgumentError(
        absl::StrCat("birth_date: ", profile.birth_date, " is in the future"));
  }

  VIGIL_RETURN_IF_ERROR(
      policy->CheckProfile(profile, policy->Segment(AgeAt(birth_date, *policy, now_ms))));

  VIGIL_RETURN_IF_ERROR(Writable());
  UserShard& shard = users_.ShardFor(profile.user_id);
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&shard.mu);
    UserState& state = StateOf(shard, profile.user_id);
    state.SetProfile(profile, birth_date);
    StateChange change;
    change.users.push_back(SnapshotOf(profile.user_id, state));
    if (journaled()) {
      DecisionLogEntry entry;
      entry.time_ms = clock_->NowMs();  // under the lock, as every change to a user
      entry.profile = profile;
      change.log.push_back(std::move(entry));
    }
    sequence = Append(std::move(change));
  }
  VIGIL_RETURN_IF_ERROR(Durable(sequence));
  return profile;
}

absl::StatusOr<UserProfile> EngineImpl::GetUserProfile(absl::string_view user_id) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", user_id));
  UserShard& shard = users_.ShardFor(user_id);
  UserProfile profile;
  uint64_t sequence = 0;
  {
    absl::MutexLock lock(&shard.mu);
    const UserState* state = FindState(shard, user_id);
    if (state == nullptr || !state->has_profile) {
      return absl::NotFoundError(absl::StrCat("user_id: no profile for \"", user_id, "\""));
    }
    profile = state->Profile(user_id);
    sequence = LastSequence();
  }
  AwaitVisible(sequence);
  return profile;
}

}  // namespace vigil
