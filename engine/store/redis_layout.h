#pragma once

// Where Vigil keeps its state in a Redis Cluster: every key it writes, and why each lands in the
// slot it does. RedisSharedState writes the users and RedisNoticeOutbox the shared outbox, both
// through the server-side functions of redis_functions.h.
//
// A user's keys carry the hash tag {u:ID}, so that the user's record, the idempotency records
// of their calls and the notices of their changes live in one slot, on one primary, and a commit
// checks and writes them all in one function call:
//
//   {u:ID}              hash: t (token), s (store.v1.UserState), f (time floor, ms)
//   {u:ID}:turn         the node whose turn it is to commit for the user, for a few ms after
//                       its commit was refused (so that two nodes take turns)
//   {u:ID}:t:TXN        store.v1.TransactionState, expiring after the idempotency retention
//   {u:ID}:g:REQUEST    store.v1.GrantState, the same
//   t:TXN               the user a transaction id was claimed for, the same
//   m:MANDATE           the user a mandate belongs to
//
// Notices. A function call writes only to the slot of its keys, so each of the 16,384 slots
// has an outbox of its own, written by the same call as the change whose notices it holds.
// The nodes relay every slot's outbox into one stream, which consumers read:
//
//   {o:TAG}:outbox      stream: notices of the slot's users not relayed yet, oldest first
//                       (TAG is chosen so that the key lands in that slot: OutboxKey). Fields
//                       t (the notice's time, ms) and n (vigil.v1.Notice).
//   {notices}           stream: every notice relayed, entry ID "CURSOR-0" (cursors gapless
//                       from 1, in the order relayed), fields t and n; trimmed by t
//   {notices}:meta      hash: last (the last cursor), trimmed (the last cursor trimmed past
//                       the retention), r:SLOT (the last entry of SLOT's outbox relayed, so
//                       that an entry relayed twice is added once)
//   {notices}:acks      hash: consumer -> the last cursor it acked
//   {notices}:marks     hash: scan -> its mark (NoticeOutbox::ReadMark)
//   {notices}:scans     string: the node running the scans; expires unless it renews it
//
// Pure functions; thread-safe.

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace vigil::store::redis_layout {

inline std::string UserKey(absl::string_view user_id) { return absl::StrCat("{u:", user_id, "}"); }
inline std::string TurnKey(absl::string_view user_id) {
  return absl::StrCat("{u:", user_id, "}:turn");
}
inline std::string TransactionKey(absl::string_view user_id, absl::string_view transaction_id) {
  return absl::StrCat("{u:", user_id, "}:t:", transaction_id);
}
inline std::string GrantKey(absl::string_view user_id, absl::string_view request_id) {
  return absl::StrCat("{u:", user_id, "}:g:", request_id);
}
inline std::string ClaimKey(absl::string_view transaction_id) {
  return absl::StrCat("t:", transaction_id);
}
inline std::string MandateKey(absl::string_view mandate_id) {
  return absl::StrCat("m:", mandate_id);
}
// A user hash's key, as SCAN returns it, back to the user's id; empty if it is not one.
absl::string_view UserIdOfKey(absl::string_view key);
// What SCAN matches (with TYPE hash) to find the users' hashes.
inline constexpr char kUserKeyPattern[] = "{u:*";

// The outbox of `slot` (0 to 16,383).
const std::string& OutboxKey(int slot);
// The slot a user's keys, and so their outbox, are in.
int UserSlot(absl::string_view user_id);

inline constexpr char kNoticesKey[] = "{notices}";
inline constexpr char kNoticesMetaKey[] = "{notices}:meta";
inline constexpr char kNoticesAcksKey[] = "{notices}:acks";
inline constexpr char kNoticesMarksKey[] = "{notices}:marks";
inline constexpr char kNoticesScansKey[] = "{notices}:scans";

}  // namespace vigil::store::redis_layout
