#include "engine/core/idempotency.h"

#include <utility>

#include "absl/synchronization/mutex.h"

namespace vigil {
bool TransactionRecord::SameCharge(const AuthorizeRequest& request) const {
  return request.user_id == id(kUser) && request.merchant_id == id(kMerchant) &&
         request.amount_minor == amount_minor && request.currency == id(kCurrency);
}

AuthorizeResponse TransactionRecord::Response() const {
  AuthorizeResponse response;
  response.decision = decision;
  response.notify_user = notify_user;
  response.reasons.reserve(enforced);
  for (size_t i = 0; i < reasons.size(); ++i) {
    (i < enforced ? response.reasons : response.shadow_reasons).push_back(reasons[i]);
  }
  response.decision_id = std::string(id(kDecision));
  response.rules_version = std::string(rules_version);
  return response;
}

void TransactionTable::Put(std::unique_ptr<TransactionRecord> record) {
  const TransactionKey key(record->id(TransactionRecord::kTransaction));
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  shard.map.erase(key);
  shard.map.insert(TransactionSlot{key.hash, std::move(record)});
}

void TransactionTable::Erase(absl::string_view transaction_id) {
  const TransactionKey key(transaction_id);
  Shard& shard = ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  shard.map.erase(key);
}

void TransactionTable::Sweep(int64_t before_ms, size_t part, size_t parts,
                             std::vector<std::string>& expired) {
  auto& shards = table_.shards();
  const size_t first = shards.size() * part / parts;
  const size_t last = shards.size() * (part + 1) / parts;
  for (size_t i = first; i < last; ++i) {
    Shard& shard = shards[i];
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.map.begin(); it != shard.map.end();) {
      const TransactionRecord& record = *it->record;
      if (!record.pending && record.seen_ms < before_ms) {
        expired.emplace_back(record.id(TransactionRecord::kTransaction));
        shard.map.erase(it++);
      } else {
        ++it;
      }
    }
    // A table keeps its capacity after erasing; give memory back once most of it is empty.
    if (shard.map.size() < shard.map.capacity() / 4) shard.map.rehash(0);
  }
}

void GrantTable::Sweep(int64_t before_ms, size_t part, size_t parts,
                       std::vector<std::string>& expired) {
  auto& shards = table_.shards();
  for (size_t i = part % shards.size(); i < shards.size(); i += parts) {
    Shard& shard = shards[i];
    absl::MutexLock lock(&shard.mu);
    for (auto it = shard.map.begin(); it != shard.map.end();) {
      if (it->second.seen_ms < before_ms) {
        expired.push_back(it->first);
        shard.map.erase(it++);
      } else {
        ++it;
      }
    }
  }
}

}  // namespace vigil
