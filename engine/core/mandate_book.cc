#include "engine/core/mandate_book.h"

#include <algorithm>

#include "engine/core/id_mint.h"
#include "engine/core/stable_hash.h"

namespace vigil {

StoredMandate StoredMandate::From(const Mandate& mandate) {
  StoredMandate stored;
  stored.text = PackedStrings<kTextCount>({mandate.mandate_id, mandate.merchant_id,
                                           mandate.consent.terms_version, mandate.consent.channel,
                                           mandate.revoke_reason});
  stored.expires_at_ms = mandate.expires_at_ms;
  stored.per_txn_limit_minor = mandate.per_txn_limit_minor;
  stored.daily_limit_minor = mandate.daily_limit_minor;
  stored.monthly_limit_minor = mandate.monthly_limit_minor;
  stored.consented_at_ms = mandate.consent.consented_at_ms;
  stored.created_at_ms = mandate.created_at_ms;
  stored.last_used_at_ms = mandate.last_used_at_ms;
  stored.revoked_at_ms = mandate.revoked_at_ms;
  stored.status = mandate.status;
  stored.explicit_opt_in = mandate.consent.explicit_opt_in;
  stored.general = mandate.merchant_id == kAnyMerchant;
  stored.merchant_hash = static_cast<uint32_t>(StableHash(mandate.merchant_id));
  return stored;
}

Mandate StoredMandate::ToMandate(absl::string_view user_id) const {
  Mandate mandate;
  mandate.mandate_id = std::string(text[kId]);
  mandate.user_id = std::string(user_id);
  mandate.merchant_id = std::string(text[kMerchant]);
  mandate.status = status;
  mandate.expires_at_ms = expires_at_ms;
  mandate.per_txn_limit_minor = per_txn_limit_minor;
  mandate.daily_limit_minor = daily_limit_minor;
  mandate.monthly_limit_minor = monthly_limit_minor;
  mandate.consent.explicit_opt_in = explicit_opt_in;
  mandate.consent.terms_version = std::string(text[kTermsVersion]);
  mandate.consent.consented_at_ms = consented_at_ms;
  mandate.consent.channel = std::string(text[kConsentChannel]);
  mandate.created_at_ms = created_at_ms;
  mandate.last_used_at_ms = last_used_at_ms;
  mandate.revoked_at_ms = revoked_at_ms;
  mandate.revoke_reason = std::string(text[kRevokeReason]);
  return mandate;
}

void StoredMandate::Revoke(int64_t now_ms, absl::string_view reason) {
  status = MandateStatus::kRevoked;
  revoked_at_ms = now_ms;
  text = PackedStrings<kTextCount>(
      {text[kId], text[kMerchant], text[kTermsVersion], text[kConsentChannel], reason});
}

int64_t StoredMandate::IdleMs(int64_t now_ms) const {
  const int64_t since = last_used_at_ms != 0 ? last_used_at_ms : created_at_ms;
  return std::max<int64_t>(0, now_ms - since);
}

Mandate StoredMandate::View(absl::string_view user_id, const Policy& policy, int64_t now_ms) const {
  Mandate view = ToMandate(user_id);
  if (view.status == MandateStatus::kRevoked) return view;
  if (Expired(now_ms)) {
    view.status = MandateStatus::kExpired;
  } else if (view.status == MandateStatus::kActive && IdleMs(now_ms) >= policy.dormant_after_ms()) {
    view.status = MandateStatus::kDormant;
  }
  return view;
}

MandateState* ResolveMandate(MandateList& mandates, const AuthorizeRequest& request,
                             uint64_t merchant_hash, int64_t now_ms, MandateMatch& match) {
  if (!request.mandate_id.empty()) {
    MandateState* named = FindMandate(mandates, request.mandate_id);
    if (named == nullptr) {
      match = MandateMatch::kUnknownId;
      return nullptr;
    }
    const absl::string_view merchant = named->mandate.merchant_id();
    if (merchant != request.merchant_id && merchant != kAnyMerchant) {
      match = MandateMatch::kMerchantMismatch;
      return nullptr;
    }
    match = MandateMatch::kFound;
    return named;
  }
  MandateState* merchant_usable = nullptr;
  MandateState* general_usable = nullptr;
  MandateState* merchant_latest = nullptr;
  MandateState* general_latest = nullptr;
  for (MandateState& candidate : mandates) {
    const StoredMandate& mandate = candidate.mandate;
    const bool general = mandate.general;
    const bool own = !general && mandate.merchant_hash == static_cast<uint32_t>(merchant_hash) &&
                     mandate.merchant_id() == request.merchant_id;
    if (!own && !general) continue;
    const bool usable = mandate.Usable(now_ms);
    if (own) {
      merchant_latest = &candidate;
      if (usable) merchant_usable = &candidate;
    } else {
      general_latest = &candidate;
      if (usable) general_usable = &candidate;
    }
  }
  for (MandateState* choice : {merchant_usable, general_usable, merchant_latest, general_latest}) {
    if (choice != nullptr) {
      match = MandateMatch::kFound;
      return choice;
    }
  }
  match = MandateMatch::kNone;
  return nullptr;
}

MandateState* FindMandate(MandateList& mandates, absl::string_view mandate_id) {
  for (MandateState& mandate : mandates) {
    if (mandate.mandate.mandate_id() == mandate_id) return &mandate;
  }
  return nullptr;
}

void MandateOwners::Add(absl::string_view mandate_id, const std::string& owner_key) {
  const std::optional<uint64_t> number = IdMint::MandateNumber(mandate_id);
  if (!number.has_value()) return;
  Shard& shard = shards_[*number % kShards];
  absl::MutexLock lock(&shard.mu);
  shard.owners[*number] = &owner_key;
}

std::optional<std::string> MandateOwners::OwnerOf(absl::string_view mandate_id) {
  const std::optional<uint64_t> number = IdMint::MandateNumber(mandate_id);
  if (!number.has_value()) return std::nullopt;
  Shard& shard = shards_[*number % kShards];
  absl::MutexLock lock(&shard.mu);
  auto it = shard.owners.find(*number);
  if (it == shard.owners.end()) return std::nullopt;
  return *it->second;
}

}  // namespace vigil
