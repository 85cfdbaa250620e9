#pragma once

// The domain vocabulary of the decision core: what comes in with an Authorize, the standing
// objects it is decided against (profiles, mandates), and what goes out. Plain value types with
// no behaviour; they know nothing of gRPC or of storage.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace vigil {

enum class Channel { kUnspecified, kQrCode, kNfc, kInApp, kAutoDebit, kOnline };
enum class FundingSource { kUnspecified, kBalance, kDebitCard, kCreditCard, kCreditLine };
// Ordered by severity: combining two actions keeps the larger (DECLINE > CHALLENGE > APPROVE).
enum class Decision { kApprove = 1, kChallenge = 2, kDecline = 3 };
enum class Outcome { kCompleted, kFailed, kReversed, kStrongAuthPassed, kStrongAuthFailed };
enum class MandateStatus { kActive, kPaused, kRevoked, kDormant, kExpired };

// The general mandate's merchant: any merchant, for small in-person payments.
inline constexpr absl::string_view kAnyMerchant = "*";

inline Decision Combine(Decision a, Decision b) { return a > b ? a : b; }

struct AuthorizeRequest {
  std::string transaction_id;
  std::string user_id;
  std::string merchant_id;
  std::string mandate_id;  // empty: resolve from merchant_id
  int64_t amount_minor = 0;
  std::string currency;
  Channel channel = Channel::kUnspecified;
  std::string merchant_category;
  std::string device_id;
  FundingSource funding_source = FundingSource::kUnspecified;
  int64_t event_time_ms = 0;  // read only when the engine trusts client time
  std::vector<std::pair<std::string, std::string>> attributes;
};

struct Reason {
  std::string code;
  std::string rule_id;
  std::string message;

  friend bool operator==(const Reason&, const Reason&) = default;
};

struct AuthorizeResponse {
  Decision decision = Decision::kChallenge;
  // Interned reasons (InternReason): an answer, like the idempotency record it is kept as, points
  // at the one copy of each reason instead of copying three strings per reason. Being interned,
  // two reasons are equal exactly when their pointers are.
  std::vector<const Reason*> reasons;
  std::vector<const Reason*> shadow_reasons;
  bool notify_user = false;
  std::string decision_id;
  std::string rules_version;

  friend bool operator==(const AuthorizeResponse&, const AuthorizeResponse&) = default;
};

struct Consent {
  bool explicit_opt_in = false;
  std::string terms_version;
  int64_t consented_at_ms = 0;
  std::string channel;

  friend bool operator==(const Consent&, const Consent&) = default;
};

// A mandate as stored. `status` holds only what a person set (ACTIVE, PAUSED, REVOKED);
// EXPIRED and DORMANT depend on the time of asking and are derived by EffectiveStatus().
struct Mandate {
  std::string mandate_id;
  std::string user_id;
  std::string merchant_id;
  MandateStatus status = MandateStatus::kActive;
  int64_t expires_at_ms = 0;
  int64_t per_txn_limit_minor = 0;
  int64_t daily_limit_minor = 0;
  int64_t monthly_limit_minor = 0;
  Consent consent;
  int64_t created_at_ms = 0;
  int64_t last_used_at_ms = 0;
  int64_t revoked_at_ms = 0;
  std::string revoke_reason;
};

struct GrantMandateRequest {
  std::string request_id;
  std::string user_id;
  std::string merchant_id;
  int64_t per_txn_limit_minor = 0;
  int64_t daily_limit_minor = 0;
  int64_t monthly_limit_minor = 0;
  int64_t expires_at_ms = 0;
  Consent consent;

  friend bool operator==(const GrantMandateRequest&, const GrantMandateRequest&) = default;
};

struct UserProfile {
  std::string user_id;
  std::string birth_date;  // YYYY-MM-DD
  bool risk_assessment_completed = false;
  int64_t per_txn_limit_minor = 0;
  int64_t daily_limit_minor = 0;
  bool notify_every_transaction = false;
};

}  // namespace vigil
