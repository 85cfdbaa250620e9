#include "engine/core/validation.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "engine/core/calendar.h"
#include "engine/core/status_macros.h"

namespace vigil {
namespace {

constexpr size_t kMaxAttributes = 64;
constexpr size_t kMaxAttributeValueBytes = 1024;
constexpr size_t kMaxTextBytes = 256;

absl::Status FieldError(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::Status ValidatePositive(absl::string_view field, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return FieldError(field, absl::StrCat("must be greater than 0, got ", value));
}

absl::Status ValidateNonNegative(absl::string_view field, int64_t value) {
  if (value >= 0) return absl::OkStatus();
  return FieldError(field, absl::StrCat("must not be negative, got ", value));
}

absl::Status ValidateText(absl::string_view field, absl::string_view value) {
  if (value.size() <= kMaxTextBytes) return absl::OkStatus();
  return FieldError(field,
                    absl::StrCat("must be at most ", kMaxTextBytes, " bytes, got ", value.size()));
}

}  // namespace

absl::Status ValidateId(absl::string_view field, absl::string_view value) {
  if (value.empty()) return FieldError(field, "is required");
  return ValidateOptionalId(field, value);
}

absl::Status ValidateOptionalId(absl::string_view field, absl::string_view value) {
  if (value.size() > kMaxIdBytes) {
    return FieldError(field,
                      absl::StrCat("must be at most ", kMaxIdBytes, " bytes, got ", value.size()));
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) return FieldError(field, "must not contain control characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateCurrency(absl::string_view field, absl::string_view value) {
  bool ok = value.size() == 3;
  for (char c : value) ok = ok && c >= 'A' && c <= 'Z';
  if (ok) return absl::OkStatus();
  return FieldError(
      field, absl::StrCat("must be three upper-case letters (ISO 4217), got \"", value, "\""));
}

absl::Status ValidateAuthorize(const AuthorizeRequest& request) {
  VIGIL_RETURN_IF_ERROR(ValidateId("transaction_id", request.transaction_id));
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", request.user_id));
  VIGIL_RETURN_IF_ERROR(ValidateId("merchant_id", request.merchant_id));
  VIGIL_RETURN_IF_ERROR(ValidateOptionalId("mandate_id", request.mandate_id));
  VIGIL_RETURN_IF_ERROR(ValidatePositive("amount_minor", request.amount_minor));
  VIGIL_RETURN_IF_ERROR(ValidateCurrency("currency", request.currency));
  VIGIL_RETURN_IF_ERROR(ValidateOptionalId("merchant_category", request.merchant_category));
  VIGIL_RETURN_IF_ERROR(ValidateOptionalId("device_id", request.device_id));
  VIGIL_RETURN_IF_ERROR(ValidateNonNegative("event_time_ms", request.event_time_ms));
  if (request.attributes.size() > kMaxAttributes) {
    return FieldError("attributes", absl::StrCat("at most ", kMaxAttributes, " entries, got ",
                                                 request.attributes.size()));
  }
  for (const auto& [key, value] : request.attributes) {
    VIGIL_RETURN_IF_ERROR(ValidateId("attributes key", key));
    if (value.size() > kMaxAttributeValueBytes) {
      return FieldError(absl::StrCat("attributes[", key, "]"),
                        absl::StrCat("must be at most ", kMaxAttributeValueBytes, " bytes"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateGrant(const GrantMandateRequest& request) {
  VIGIL_RETURN_IF_ERROR(ValidateOptionalId("request_id", request.request_id));
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", request.user_id));
  VIGIL_RETURN_IF_ERROR(ValidateId("merchant_id", request.merchant_id));
  VIGIL_RETURN_IF_ERROR(ValidateNonNegative("per_txn_limit_minor", request.per_txn_limit_minor));
  VIGIL_RETURN_IF_ERROR(ValidateNonNegative("daily_limit_minor", request.daily_limit_minor));
  VIGIL_RETURN_IF_ERROR(ValidateNonNegative("monthly_limit_minor", request.monthly_limit_minor));
  VIGIL_RETURN_IF_ERROR(ValidateNonNegative("expires_at_ms", request.expires_at_ms));
  VIGIL_RETURN_IF_ERROR(ValidateText("consent.terms_version", request.consent.terms_version));
  VIGIL_RETURN_IF_ERROR(ValidateText("consent.channel", request.consent.channel));
  VIGIL_RETURN_IF_ERROR(
      ValidateNonNegative("consent.consented_at_ms", request.consent.consented_at_ms));
  return absl::OkStatus();
}

absl::Status ValidateProfile(const UserProfile& profile) {
  VIGIL_RETURN_IF_ERROR(ValidateId("user_id", profile.user_id));
  if (!profile.birth_date.empty()) {
    if (absl::Status status = ParseDate(profile.birth_date).status(); !status.ok()) {
      return FieldError("birth_date", status.message());
    }
  }
  VIGIL_RETURN_IF_ERROR(ValidateNonNegative("per_txn_limit_minor", profile.per_txn_limit_minor));
  VIGIL_RETURN_IF_ERROR(ValidateNonNegative("daily_limit_minor", profile.daily_limit_minor));
  return absl::OkStatus();
}

}  // namespace vigil
