#pragma once

// The server-side functions Vigil's writes to a Redis Cluster go through, one library ("vigil")
// on every primary, each function a step that must be atomic (keys: redis_layout.h):
//
//   vigil_commit   a user's change on top of the record it was decided on, with its
//                  idempotency records and its notices (into the slot's outbox)
//   vigil_notify   notices no change carries (a scan's), into a slot's outbox
//   vigil_relay    a slot's outbox entries into {notices}, each once
//   vigil_ack      a consumer's ack, never backwards, never past the last notice
//   vigil_trim     {notices} past the retention, oldest first, noting how far
//   vigil_lease    the right to run the scans, taken or renewed; vigil_unlease gives it back
//
// The library is loaded with FUNCTION LOAD REPLACE on every primary at start, and on a primary
// that joins later when a call first finds it missing (CallFunctions): unlike the script cache,
// functions are replicated and persisted, so they survive restarts and failover.
//
// Thread-safe.

#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/redis/cluster_client.h"

namespace vigil::store {

// The library's source.
absl::string_view VigilFunctions();

// Loads the library onto every primary. UNAVAILABLE when a primary cannot be reached,
// FAILED_PRECONDITION when one refuses it (e.g. a Redis without functions).
absl::Status LoadFunctions(redis::ClusterClient& cluster);

// Runs `batch` on the primary of `key`'s slot; its first command is an FCALL of the library. A
// primary without the library is given it and the batch runs again (the first run wrote
// nothing). One reply per command; an error reply is a reply.
absl::StatusOr<std::vector<redis::Reply>> CallFunctions(redis::ClusterClient& cluster,
                                                        absl::string_view key,
                                                        std::vector<redis::Command> batch);
absl::StatusOr<redis::Reply> CallFunction(redis::ClusterClient& cluster, absl::string_view key,
                                          redis::Command call);

// Whether `reply` says that the library is missing on its primary.
bool IsFunctionMissing(const redis::Reply& reply);

// An error reply to `what` as a status (UNAVAILABLE): the store refused or failed a command.
absl::Status ReplyError(absl::string_view what, const redis::Reply& reply);

}  // namespace vigil::store
