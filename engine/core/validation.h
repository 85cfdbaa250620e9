#pragma once

// Checks the shape of every request before the engine looks at any state. Each failure is
// INVALID_ARGUMENT with a message that starts with the offending field's name, e.g.
// "amount_minor: must be greater than 0, got -5". Pure functions; thread-safe.

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/core/types.h"

namespace vigil {

// The longest id (transaction, user, merchant, mandate, device, request) accepted, in bytes.
inline constexpr size_t kMaxIdBytes = 128;

// A required id: non-empty, at most kMaxIdBytes, no control characters.
absl::Status ValidateId(absl::string_view field, absl::string_view value);
// An optional id: empty, or as ValidateId.
absl::Status ValidateOptionalId(absl::string_view field, absl::string_view value);
// Three upper-case ASCII letters (ISO 4217 alphabetic code).
absl::Status ValidateCurrency(absl::string_view field, absl::string_view value);

absl::Status ValidateAuthorize(const AuthorizeRequest& request);
absl::Status ValidateGrant(const GrantMandateRequest& request);
absl::Status ValidateProfile(const UserProfile& profile);

}  // namespace vigil
