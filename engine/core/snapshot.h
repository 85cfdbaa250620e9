#pragma once

// Snapshot and restore: the engine's in-memory records as the whole records a Journal keeps
// (engine/core/journal.h), and back.

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "engine/core/idempotency.h"
#include "engine/core/journal.h"
#include "engine/core/user_state.h"

namespace vigil {

UserSnapshot SnapshotOf(absl::string_view user_id, const UserState& state);
TransactionSnapshot SnapshotOf(const TransactionRecord& record);

// Restores a saved user into `state` (new, empty). INVALID_ARGUMENT for a record that cannot be
// restored: the store is damaged. Does not index the mandates; the caller does.
absl::Status RestoreUser(const UserSnapshot& saved, UserState& state);
// A decided idempotency record from its snapshot.
std::unique_ptr<TransactionRecord> RestoreTransaction(const TransactionSnapshot& saved);

}  // namespace vigil
