#include "engine/codec/codec.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "engine/core/interned.h"

namespace vigil::codec {
namespace {

absl::Status UnknownEnum(absl::string_view field, int value) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": unknown value ", value));
}

v1::Decision EncodeDecision(Decision decision) {
  switch (decision) {
    case Decision::kApprove:
      return v1::APPROVE;
    case Decision::kChallenge:
      return v1::CHALLENGE;
    case Decision::kDecline:
      return v1::DECLINE;
  }
  return v1::DECISION_UNSPECIFIED;
}

v1::MandateStatus EncodeStatus(MandateStatus status) {
  switch (status) {
    case MandateStatus::kActive:
      return v1::ACTIVE;
    case MandateStatus::kPaused:
      return v1::PAUSED;
    case MandateStatus::kRevoked:
      return v1::REVOKED;
    case MandateStatus::kDormant:
      return v1::DORMANT;
    case MandateStatus::kExpired:
      return v1::EXPIRED;
  }
  return v1::MANDATE_STATUS_UNSPECIFIED;
}

void EncodeReason(const Reason& reason, v1::Reason& out) {
  out.set_code(reason.code);
  out.set_rule_id(reason.rule_id);
  out.set_message(reason.message);
}

}  // namespace

absl::StatusOr<AuthorizeRequest> Decode(const v1::AuthorizeRequest& request) {
  AuthorizeRequest out;
  if (absl::Status status = DecodeInto(request, out); !status.ok()) return status;
  return out;
}

absl::Status DecodeInto(const v1::AuthorizeRequest& request, AuthorizeRequest& out) {
  switch (request.channel()) {
    case v1::CHANNEL_UNSPECIFIED:
      out.channel = Channel::kUnspecified;
      break;
    case v1::QR_CODE:
      out.channel = Channel::kQrCode;
      break;
    case v1::NFC:
      out.channel = Channel::kNfc;
      break;
    case v1::IN_APP:
      out.channel = Channel::kInApp;
      break;
    case v1::AUTO_DEBIT:
      out.channel = Channel::kAutoDebit;
      break;
    case v1::ONLINE:
      out.channel = Channel::kOnline;
      break;
    default:
      return UnknownEnum("channel", request.channel());
  }
  switch (request.funding_source()) {
    case v1::FUNDING_SOURCE_UNSPECIFIED:
      out.funding_source = FundingSource::kUnspecified;
      break;
    case v1::BALANCE:
      out.funding_source = FundingSource::kBalance;
      break;
    case v1::DEBIT_CARD:
      out.funding_source = FundingSource::kDebitCard;
      break;
    case v1::CREDIT_CARD:
      out.funding_source = FundingSource::kCreditCard;
      break;
    case v1::CREDIT_LINE:
      out.funding_source = FundingSource::kCreditLine;
      break;
    default:
      return UnknownEnum("funding_source", request.funding_source());
  }
  out.transaction_id = request.transaction_id();
  out.user_id = request.user_id();
  out.merchant_id = request.merchant_id();
  out.mandate_id = request.mandate_id();
  out.amount_minor = request.amount_minor();
  out.currency = request.currency();
  out.merchant_category = request.merchant_category();
  out.device_id = request.device_id();
  out.event_time_ms = request.event_time_ms();
  out.attributes.resize(static_cast<size_t>(request.attributes_size()));
  auto attribute = out.attributes.begin();
  for (const auto& [key, value] : request.attributes()) {
    attribute->first = key;
    attribute->second = value;
    ++attribute;
  }
  return absl::OkStatus();
}

absl::StatusOr<Outcome> Decode(v1::Outcome outcome) {
  switch (outcome) {
    case v1::COMPLETED:
      return Outcome::kCompleted;
    case v1::FAILED:
      return Outcome::kFailed;
    case v1::REVERSED:
      return Outcome::kReversed;
    case v1::STRONG_AUTH_PASSED:
      return Outcome::kStrongAuthPassed;
    case v1::STRONG_AUTH_FAILED:
      return Outcome::kStrongAuthFailed;
    case v1::OUTCOME_UNSPECIFIED:
      return absl::InvalidArgumentError("outcome: is required");
    default:
      return UnknownEnum("outcome", outcome);
  }
}

GrantMandateRequest Decode(const v1::GrantMandateRequest& request) {
  GrantMandateRequest out;
  out.request_id = request.request_id();
  out.user_id = request.user_id();
  out.merchant_id = request.merchant_id();
  out.per_txn_limit_minor = request.per_txn_limit_minor();
  out.daily_limit_minor = request.daily_limit_minor();
  out.monthly_limit_minor = request.monthly_limit_minor();
  out.expires_at_ms = request.expires_at_ms();
  out.consent.explicit_opt_in = request.consent().explicit_opt_in();
  out.consent.terms_version = request.consent().terms_version();
  out.consent.consented_at_ms = request.consent().consented_at_ms();
  out.consent.channel = request.consent().channel();
  return out;
}

UserProfile Decode(const v1::UserProfile& profile) {
  UserProfile out;
  out.user_id = profile.user_id();
  out.birth_date = profile.birth_date();
  out.risk_assessment_completed = profile.risk_assessment_completed();
  out.per_txn_limit_minor = profile.per_txn_limit_minor();
  out.daily_limit_minor = profile.daily_limit_minor();
  out.notify_every_transaction = profile.notify_every_transaction();
  return out;
}

void Encode(const AuthorizeResponse& response, v1::AuthorizeResponse& out) {
  out.set_decision(EncodeDecision(response.decision));
  for (const Reason* reason : response.reasons) EncodeReason(*reason, *out.add_reasons());
  for (const Reason* reason : response.shadow_reasons) {
    EncodeReason(*reason, *out.add_shadow_reasons());
  }
  out.set_notify_user(response.notify_user);
  out.set_decision_id(response.decision_id);
  out.set_rules_version(response.rules_version);
}

void Encode(const Mandate& mandate, v1::Mandate& out) {
  out.set_mandate_id(mandate.mandate_id);
  out.set_user_id(mandate.user_id);
  out.set_merchant_id(mandate.merchant_id);
  out.set_status(EncodeStatus(mandate.status));
  out.set_expires_at_ms(mandate.expires_at_ms);
  out.set_per_txn_limit_minor(mandate.per_txn_limit_minor);
  out.set_daily_limit_minor(mandate.daily_limit_minor);
  out.set_monthly_limit_minor(mandate.monthly_limit_minor);
  v1::Consent& consent = *out.mutable_consent();
  consent.set_explicit_opt_in(mandate.consent.explicit_opt_in);
  consent.set_terms_version(mandate.consent.terms_version);
  consent.set_consented_at_ms(mandate.consent.consented_at_ms);
  consent.set_channel(mandate.consent.channel);
  out.set_created_at_ms(mandate.created_at_ms);
  out.set_last_used_at_ms(mandate.last_used_at_ms);
  out.set_revoked_at_ms(mandate.revoked_at_ms);
  out.set_revoke_reason(mandate.revoke_reason);
}

void Encode(const UserProfile& profile, v1::UserProfile& out) {
  out.set_user_id(profile.user_id);
  out.set_birth_date(profile.birth_date);
  out.set_risk_assessment_completed(profile.risk_assessment_completed);
  out.set_per_txn_limit_minor(profile.per_txn_limit_minor);
  out.set_daily_limit_minor(profile.daily_limit_minor);
  out.set_notify_every_transaction(profile.notify_every_transaction);
}

absl::StatusOr<AuthorizeResponse> Decode(const v1::AuthorizeResponse& response) {
  AuthorizeResponse out;
  switch (response.decision()) {
    case v1::APPROVE:
      out.decision = Decision::kApprove;
      break;
    case v1::CHALLENGE:
      out.decision = Decision::kChallenge;
      break;
    case v1::DECLINE:
      out.decision = Decision::kDecline;
      break;
    default:
      return UnknownEnum("decision", response.decision());
  }
  for (const v1::Reason& reason : response.reasons()) {
    out.reasons.push_back(InternReason(Reason{reason.code(), reason.rule_id(), reason.message()}));
  }
  for (const v1::Reason& reason : response.shadow_reasons()) {
    out.shadow_reasons.push_back(
        InternReason(Reason{reason.code(), reason.rule_id(), reason.message()}));
  }
  out.notify_user = response.notify_user();
  out.decision_id = response.decision_id();
  out.rules_version = response.rules_version();
  return out;
}

absl::StatusOr<Mandate> Decode(const v1::Mandate& mandate) {
  Mandate out;
  switch (mandate.status()) {
    case v1::ACTIVE:
      out.status = MandateStatus::kActive;
      break;
    case v1::PAUSED:
      out.status = MandateStatus::kPaused;
      break;
    case v1::REVOKED:
      out.status = MandateStatus::kRevoked;
      break;
    default:
      return UnknownEnum("status", mandate.status());
  }
  out.mandate_id = mandate.mandate_id();
  out.user_id = mandate.user_id();
  out.merchant_id = mandate.merchant_id();
  out.expires_at_ms = mandate.expires_at_ms();
  out.per_txn_limit_minor = mandate.per_txn_limit_minor();
  out.daily_limit_minor = mandate.daily_limit_minor();
  out.monthly_limit_minor = mandate.monthly_limit_minor();
  out.consent.explicit_opt_in = mandate.consent().explicit_opt_in();
  out.consent.terms_version = mandate.consent().terms_version();
  out.consent.consented_at_ms = mandate.consent().consented_at_ms();
  out.consent.channel = mandate.consent().channel();
  out.created_at_ms = mandate.created_at_ms();
  out.last_used_at_ms = mandate.last_used_at_ms();
  out.revoked_at_ms = mandate.revoked_at_ms();
  out.revoke_reason = mandate.revoke_reason();
  return out;
}

void Encode(const AuthorizeRequest& request, v1::AuthorizeRequest& out) {
  out.set_transaction_id(request.transaction_id);
  out.set_user_id(request.user_id);
  out.set_merchant_id(request.merchant_id);
  out.set_mandate_id(request.mandate_id);
  out.set_amount_minor(request.amount_minor);
  out.set_currency(request.currency);
  out.set_channel(static_cast<v1::Channel>(static_cast<int>(request.channel)));
  out.set_merchant_category(request.merchant_category);
  out.set_device_id(request.device_id);
  out.set_funding_source(static_cast<v1::FundingSource>(static_cast<int>(request.funding_source)));
  out.set_event_time_ms(request.event_time_ms);
  for (const auto& [key, value] : request.attributes) (*out.mutable_attributes())[key] = value;
}

void Encode(const GrantMandateRequest& request, v1::GrantMandateRequest& out) {
  out.set_request_id(request.request_id);
  out.set_user_id(request.user_id);
  out.set_merchant_id(request.merchant_id);
  out.set_per_txn_limit_minor(request.per_txn_limit_minor);
  out.set_daily_limit_minor(request.daily_limit_minor);
  out.set_monthly_limit_minor(request.monthly_limit_minor);
  out.set_expires_at_ms(request.expires_at_ms);
  out.mutable_consent()->set_explicit_opt_in(request.consent.explicit_opt_in);
  out.mutable_consent()->set_terms_version(request.consent.terms_version);
  out.mutable_consent()->set_consented_at_ms(request.consent.consented_at_ms);
  out.mutable_consent()->set_channel(request.consent.channel);
}

v1::Outcome Encode(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCompleted:
      return v1::COMPLETED;
    case Outcome::kFailed:
      return v1::FAILED;
    case Outcome::kReversed:
      return v1::REVERSED;
    case Outcome::kStrongAuthPassed:
      return v1::STRONG_AUTH_PASSED;
    case Outcome::kStrongAuthFailed:
      return v1::STRONG_AUTH_FAILED;
  }
  return v1::OUTCOME_UNSPECIFIED;
}

void Encode(const Notice& notice, v1::Notice& out) {
  // NoticeKind's numbers are the API's.
  out.set_kind(static_cast<v1::NoticeKind>(notice.kind));
  out.set_user_id(notice.user_id);
  out.set_time_ms(notice.time_ms);
  out.set_transaction_id(notice.transaction_id);
  out.set_mandate_id(notice.mandate_id);
  out.set_merchant_id(notice.merchant_id);
  out.set_amount_minor(notice.amount_minor);
  out.set_currency(notice.currency);
  out.set_text(notice.text);
  if (!notice.summary.has_value()) return;
  const PeriodicSummary& summary = *notice.summary;
  v1::PeriodicSummary& encoded = *out.mutable_summary();
  encoded.set_period(summary.period);
  encoded.set_amount_minor(summary.amount_minor);
  encoded.set_count(summary.count);
  for (const PeriodicSummary::MerchantTotal& merchant : summary.merchants) {
    v1::MerchantTotal& total = *encoded.add_merchants();
    total.set_merchant_id(merchant.merchant_id);
    total.set_amount_minor(merchant.amount_minor);
    total.set_count(merchant.count);
  }
  for (const PeriodicSummary::MandateUse& mandate : summary.mandates) {
    v1::MandateUse& use = *encoded.add_mandates();
    use.set_mandate_id(mandate.mandate_id);
    use.set_merchant_id(mandate.merchant_id);
    use.set_last_used_at_ms(mandate.last_used_at_ms);
  }
}

absl::StatusOr<Notice> Decode(const v1::Notice& notice) {
  if (notice.kind() < v1::CHARGE_APPROVED || notice.kind() > v1::PERIODIC_SUMMARY) {
    return absl::InvalidArgumentError(absl::StrCat("kind: unknown notice kind ", notice.kind()));
  }
  Notice out;
  out.kind = static_cast<NoticeKind>(notice.kind());
  out.user_id = notice.user_id();
  out.time_ms = notice.time_ms();
  out.transaction_id = notice.transaction_id();
  out.mandate_id = notice.mandate_id();
  out.merchant_id = notice.merchant_id();
  out.amount_minor = notice.amount_minor();
  out.currency = notice.currency();
  out.text = notice.text();
  if (notice.has_summary()) {
    const v1::PeriodicSummary& encoded = notice.summary();
    PeriodicSummary& summary = out.summary.emplace();
    summary.period = encoded.period();
    summary.amount_minor = encoded.amount_minor();
    summary.count = encoded.count();
    for (const v1::MerchantTotal& total : encoded.merchants()) {
      summary.merchants.push_back({total.merchant_id(), total.amount_minor(), total.count()});
    }
    for (const v1::MandateUse& use : encoded.mandates()) {
      summary.mandates.push_back({use.mandate_id(), use.merchant_id(), use.last_used_at_ms()});
    }
  }
  return out;
}

}  // namespace vigil::codec
