#pragma once

// The idempotency tables: one record per charge (TransactionTable), what a retry of the same
// transaction_id is answered from and what an outcome needs to take an approval back; and one
// per grant with a request_id (GrantTable). Both are kept for a retention time and then
// forgotten by their sweeps, a part of the table at a time.
//
// Thread-safe as far as callers hold a shard's `mu` while touching its `map`; the sweeps lock
// each shard themselves.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "engine/core/packed_strings.h"
#include "engine/core/sharded.h"
#include "engine/core/types.h"

namespace vigil {

// An Authorize's idempotency record. There is one per charge for the whole retention time, so
// it is compact: its ids (the transaction id, which is its key, among them) share one
// allocation, its reasons and rules version are pointers to interned values.
struct TransactionRecord {
  enum Id { kTransaction, kUser, kMerchant, kCurrency, kDevice, kMandate, kDecision, kIdCount };
  PackedStrings<kIdCount> ids;  // kMandate: the mandate that was charged; empty if none
  int64_t amount_minor = 0;
  int64_t time_ms = 0;  // the charge's time: its windows and calendar periods
  // When the engine decided it, by its own clock: what the retention counts from. The same as
  // time_ms unless the engine trusts client time, where a charge may be dated long before.
  int64_t seen_ms = 0;
  absl::string_view rules_version;  // interned (Policy::version())
  // The enforced reasons (the first `enforced` of them), then the shadow ones.
  absl::InlinedVector<const Reason*, 1> reasons;
  uint16_t enforced = 0;
  Decision decision = Decision::kChallenge;
  bool notify_user = false;
  bool pending = true;  // claimed, but not decided yet
  bool approved = false;
  bool released = false;
  std::optional<Outcome> outcome;

  absl::string_view id(Id which) const { return ids[which]; }
  // Whether `request` is the charge this record was claimed for.
  bool SameCharge(const AuthorizeRequest& request) const;
  AuthorizeResponse Response() const;
};

// The table holds records by pointer, with their key's hash, and finds them by the transaction
// id inside them: a slot is 16 bytes instead of the record and a copy of its key, growing the
// table moves slots without reading a record, a lookup reads a record only where the whole
// hash matches, and a record stays where it is while its call decides. The hash is Sharded's,
// so the shard comes from its high bits and each slot's tag from its low ones.
struct TransactionSlot {
  size_t hash;
  std::unique_ptr<TransactionRecord> record;

  absl::string_view key() const { return record->id(TransactionRecord::kTransaction); }
};
// A transaction id to look up, with its hash.
struct TransactionKey {
  explicit TransactionKey(absl::string_view id) : hash(ShardedHash(id)), id(id) {}
  size_t hash;
  absl::string_view id;
};
struct TransactionHash {
  using is_transparent = void;
  size_t operator()(const TransactionKey& key) const { return key.hash; }
  size_t operator()(const TransactionSlot& slot) const { return slot.hash; }
};
struct TransactionEq {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return a.hash == b.hash && Id(a) == Id(b);
  }
  static absl::string_view Id(const TransactionKey& key) { return key.id; }
  static absl::string_view Id(const TransactionSlot& slot) { return slot.key(); }
};

// The table that keeps growing, one record per charge. Many shards keep each growth step small
// (a shard's table is rebuilt under its lock), so that no call waits long behind one.
class TransactionTable {
  using Table = Sharded<TransactionRecord, 1024,
                        absl::flat_hash_set<TransactionSlot, TransactionHash, TransactionEq>>;

 public:
  using Shard = Table::Shard;

  Shard& ShardFor(const TransactionKey& key) { return table_.ShardForHash(key.hash); }
  // Inserts a decided record, replacing one with the same transaction id: the later stands.
  void Put(std::unique_ptr<TransactionRecord> record);
  // Forgets the record of `transaction_id`, pending or not; nothing if there is none.
  void Erase(absl::string_view transaction_id);
  // Forgets the decided records seen before `before_ms` in part `part` of `parts` (the shards
  // split as evenly as they allow, each in exactly one part) and appends their ids to
  // `expired`. Pending records are never forgotten. REQUIRES: part < parts.
  void Sweep(int64_t before_ms, size_t part, size_t parts, std::vector<std::string>& expired);
  size_t Count() { return table_.Count(); }

 private:
  Table table_;
};

// A grant's idempotency record, under its request_id.
struct GrantRecord {
  GrantMandateRequest request;
  std::string mandate_id;
  int64_t seen_ms = 0;  // when it was granted, by the engine's clock
};

class GrantTable {
 public:
  using Shard = Sharded<GrantRecord>::Shard;

  Shard& ShardFor(absl::string_view request_id) { return table_.ShardFor(request_id); }
  // Forgets grants seen before `before_ms` in part `part` of `parts` and appends their
  // request ids to `expired`. There are fewer shards than a sweep may have parts: part p walks
  // the shards p, p + parts, ... below their number, so that every shard is walked once per
  // pass (and, with more parts than shards, in the parts that share its number modulo the
  // shard count, which only repeats it). REQUIRES: part < parts.
  void Sweep(int64_t before_ms, size_t part, size_t parts, std::vector<std::string>& expired);
  size_t Count() { return table_.Count(); }

 private:
  Sharded<GrantRecord> table_;
};

}  // namespace vigil
