// EngineImpl's records replaced by stored ones, for an engine whose state is shared with others
// (SharedEngine): what the shared state holds wins over what this engine decided on its own.

#include <utility>

#include "engine/core/engine_impl.h"
#include "engine/core/snapshot.h"
#include "engine/core/status_macros.h"

namespace vigil {

absl::Status EngineImpl::InstallUser(const UserSnapshot& user) {
  UserShard& shard = users_.ShardFor(user.user_id);
  absl::MutexLock lock(&shard.mu);
  UserState& state = StateOf(shard, user.user_id);
  state = UserState{};
  VIGIL_RETURN_IF_ERROR(RestoreUser(user, state));
  const std::string& owner_key = shard.map.find(user.user_id)->first;
  for (const MandateSnapshot& saved : user.mandates) {
    mandate_owners_.Add(saved.mandate.mandate_id, owner_key);
  }
  return absl::OkStatus();
}

void EngineImpl::ResetUser(absl::string_view user_id) {
  UserShard& shard = users_.ShardFor(user_id);
  absl::MutexLock lock(&shard.mu);
  if (UserState* state = FindState(shard, user_id); state != nullptr) *state = UserState{};
}

void EngineImpl::InstallTransaction(const TransactionSnapshot& transaction) {
  transactions_.Put(RestoreTransaction(transaction));
}

void EngineImpl::ForgetTransaction(absl::string_view transaction_id) {
  transactions_.Erase(transaction_id);
}

std::optional<std::string> EngineImpl::TransactionUser(absl::string_view transaction_id) {
  const TransactionKey key(transaction_id);
  TransactionTable::Shard& shard = transactions_.ShardFor(key);
  absl::MutexLock lock(&shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end() || it->record->pending) return std::nullopt;
  return std::string(it->record->id(TransactionRecord::kUser));
}

void EngineImpl::InstallGrant(const GrantSnapshot& grant) {
  GrantTable::Shard& shard = grants_.ShardFor(grant.request.request_id);
  absl::MutexLock lock(&shard.mu);
  shard.map[grant.request.request_id] = GrantRecord{grant.request, grant.mandate_id, grant.seen_ms};
}

void EngineImpl::ForgetGrant(absl::string_view request_id) {
  GrantTable::Shard& shard = grants_.ShardFor(request_id);
  absl::MutexLock lock(&shard.mu);
  shard.map.erase(std::string(request_id));
}

}  // namespace vigil
