#pragma once

// The store's encoding of the engine's snapshots (vigil.store.v1 messages), in both directions.
// Decoding a damaged record is DATA_LOSS. Pure functions; thread-safe.

#include "absl/status/statusor.h"
#include "engine/core/journal.h"
#include "vigil/store/v1/state.pb.h"

namespace vigil::store {

store::v1::UserState Encode(const UserSnapshot& user);
store::v1::SubjectState Encode(const SubjectSnapshot& subject);
store::v1::TransactionState Encode(const TransactionSnapshot& transaction);
store::v1::GrantState Encode(const GrantSnapshot& grant);
store::v1::DecisionLogRecord Encode(const DecisionLogEntry& entry);

absl::StatusOr<UserSnapshot> Decode(const store::v1::UserState& user);
absl::StatusOr<SubjectSnapshot> Decode(const store::v1::SubjectState& subject);
absl::StatusOr<TransactionSnapshot> Decode(const store::v1::TransactionState& transaction);
GrantSnapshot Decode(const store::v1::GrantState& grant);
absl::StatusOr<DecisionLogEntry> Decode(const store::v1::DecisionLogRecord& entry);

}  // namespace vigil::store
