#pragma once

// Translation between the messages of vigil.v1 (on the wire and in the store) and the core's
// types. Decoding rejects enum values the API does not define with INVALID_ARGUMENT naming the
// field. Pure functions; thread-safe.

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/core/journal.h"
#include "engine/core/types.h"
#include "vigil/v1/vigil.pb.h"

namespace vigil::codec {

absl::StatusOr<AuthorizeRequest> Decode(const v1::AuthorizeRequest& request);
// The same into `out`, whatever it held before, reusing its strings' buffers: for a server thread
// that decodes one call after another (ids longer than 15 bytes then take no allocation).
absl::Status DecodeInto(const v1::AuthorizeRequest& request, AuthorizeRequest& out);
absl::StatusOr<Outcome> Decode(v1::Outcome outcome);
GrantMandateRequest Decode(const v1::GrantMandateRequest& request);
UserProfile Decode(const v1::UserProfile& profile);

// Interns the answer's reasons (a process-wide lock): for restoring state, not per call.
absl::StatusOr<AuthorizeResponse> Decode(const v1::AuthorizeResponse& response);
absl::StatusOr<Mandate> Decode(const v1::Mandate& mandate);

void Encode(const AuthorizeRequest& request, v1::AuthorizeRequest& out);
void Encode(const AuthorizeResponse& response, v1::AuthorizeResponse& out);
void Encode(const Mandate& mandate, v1::Mandate& out);
void Encode(const UserProfile& profile, v1::UserProfile& out);
void Encode(const GrantMandateRequest& request, v1::GrantMandateRequest& out);
v1::Outcome Encode(Outcome outcome);
// A notice; the cursor is the outbox's, set by whoever reads it.
void Encode(const Notice& notice, v1::Notice& out);
absl::StatusOr<Notice> Decode(const v1::Notice& notice);

// A decision log entry into a message with vigil.v1.DecisionRecord's fields: the API's record,
// for exports, or the store's own (store::v1::DecisionLogRecord), which has the same fields.
template <typename Record>
void EncodeLogEntry(const DecisionLogEntry& entry, Record& out) {
  out.set_time_ms(entry.time_ms);
  out.set_transaction_id(entry.transaction_id);
  if (entry.request.has_value()) Encode(*entry.request, *out.mutable_request());
  if (entry.response.has_value()) Encode(*entry.response, *out.mutable_response());
  if (entry.outcome.has_value()) out.set_outcome(Encode(*entry.outcome));
  if (entry.mandate.has_value()) Encode(*entry.mandate, *out.mutable_mandate());
  if (entry.profile.has_value()) Encode(*entry.profile, *out.mutable_profile());
}

}  // namespace vigil::codec
