#pragma once

// The mandate book: how the engine keeps a user's mandates, finds the one a charge draws on,
// shows one to callers, and finds a mandate's owner by its id.
//
// A user's mandates live in the user's own state (engine/core/user_state.h), under the user's
// lock; MandateOwners is the index from a mandate id to its owner, so that a call naming only
// a mandate finds whose lock to take.

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "engine/core/packed_strings.h"
#include "engine/core/period_usage.h"
#include "engine/core/policy.h"
#include "engine/core/subject_windows.h"
#include "engine/core/types.h"

namespace vigil {

// A mandate as the engine keeps it, compact since there is one per user for millions of users:
// numbers as fields, its strings in one allocation, no copy of the owner's id. Mandate is what
// callers see.
struct StoredMandate {
  enum Text { kId, kMerchant, kTermsVersion, kConsentChannel, kRevokeReason, kTextCount };
  PackedStrings<kTextCount> text;
  int64_t expires_at_ms = 0;
  int64_t per_txn_limit_minor = 0;
  int64_t daily_limit_minor = 0;
  int64_t monthly_limit_minor = 0;
  int64_t consented_at_ms = 0;
  int64_t created_at_ms = 0;
  int64_t last_used_at_ms = 0;
  int64_t revoked_at_ms = 0;
  MandateStatus status = MandateStatus::kActive;
  bool explicit_opt_in = false;
  bool general = false;        // merchant "*"
  uint32_t merchant_hash = 0;  // of the merchant id: most mandates are told apart without
                               // reading their text

  absl::string_view mandate_id() const { return text[kId]; }
  absl::string_view merchant_id() const { return text[kMerchant]; }
  static StoredMandate From(const Mandate& mandate);
  Mandate ToMandate(absl::string_view user_id) const;
  void Revoke(int64_t now_ms, absl::string_view reason);

  bool Expired(int64_t now_ms) const { return expires_at_ms != 0 && now_ms >= expires_at_ms; }
  // Whether it can carry a charge now (dormancy is the policy's business, not this).
  bool Usable(int64_t now_ms) const { return status == MandateStatus::kActive && !Expired(now_ms); }
  // Since its last use, or since it was granted if never used.
  int64_t IdleMs(int64_t now_ms) const;
  // As callers see it at `now_ms`: EXPIRED past its expiry, DORMANT when active but idle for
  // the policy's dormant_after.
  Mandate View(absl::string_view user_id, const Policy& policy, int64_t now_ms) const;
};

// A mandate with what it has been charged.
struct MandateState {
  StoredMandate mandate;
  PeriodUsage day;
  MonthUsage month;
  SubjectWindows windows;
};

// Inline room for one: most users hold one or two mandates.
using MandateList = absl::InlinedVector<MandateState, 1>;

// The mandate a charge draws on, as the API defines it (AuthorizeRequest.mandate_id): the one named
// by request.mandate_id; else the merchant's own usable mandate, then the general one; when neither
// is usable, the most recent of them, which still explains why (paused, revoked, expired). nullptr,
// with the reason in `match`, when there is none. `merchant_hash` is
// StableHash(request.merchant_id).
MandateState* ResolveMandate(MandateList& mandates, const AuthorizeRequest& request,
                             uint64_t merchant_hash, int64_t now_ms, MandateMatch& match);

// The mandate with this id in the list, or nullptr.
MandateState* FindMandate(MandateList& mandates, absl::string_view mandate_id);

// A mandate id's owner. Owners are given as the key of the owner's node in the engine's user
// table, which never moves and is never freed: the index keeps a pointer, not a copy.
//
// Thread-safe; sharded by the id's number, so lookups of different mandates rarely meet.
class MandateOwners {
 public:
  // Indexes a mandate under its owner; an id no IdMint can have made is not indexed.
  void Add(absl::string_view mandate_id, const std::string& owner_key);
  // The owner of a mandate id, or none for an unknown one.
  std::optional<std::string> OwnerOf(absl::string_view mandate_id);

 private:
  struct Shard {
    absl::Mutex mu;
    absl::flat_hash_map<uint64_t, const std::string*> owners ABSL_GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 64;
  std::array<Shard, kShards> shards_;
};

}  // namespace vigil
