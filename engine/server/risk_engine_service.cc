#include "engine/server/risk_engine_service.h"

#include "engine/codec/codec.h"
#include "engine/server/unary.h"

namespace vigil::server {

using codec::Decode;
using codec::Encode;

grpc::ServerUnaryReactor* RiskEngineService::Authorize(grpc::CallbackServerContext* context,
                                                       const v1::AuthorizeRequest* request,
                                                       v1::AuthorizeResponse* response) {
  // Decoded into this thread's request of the previous call: its strings' buffers are reused.
  // The engine keeps no reference to it once Authorize returns.
  thread_local AuthorizeRequest decoded;
  if (absl::Status status = codec::DecodeInto(*request, decoded); !status.ok()) {
    return FinishUnary(context, status);
  }
  // With the store, the answer waits for its batch to be written; this thread goes on to other
  // calls meanwhile and the store's writer finishes the call. That is what lets many calls
  // share one disk sync.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  engine_->Authorize(decoded, [reactor, response](absl::StatusOr<AuthorizeResponse> decision) {
    if (decision.ok()) Encode(*decision, *response);
    reactor->Finish(codec::ToGrpc(decision.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* RiskEngineService::ReportOutcome(grpc::CallbackServerContext* context,
                                                           const v1::ReportOutcomeRequest* request,
                                                           v1::ReportOutcomeResponse* response) {
  absl::StatusOr<Outcome> outcome = Decode(request->outcome());
  if (!outcome.ok()) return FinishUnary(context, outcome.status());
  absl::Status status = engine_->ReportOutcome(request->transaction_id(), *outcome);
  if (status.ok()) {
    response->set_transaction_id(request->transaction_id());
    response->set_outcome(request->outcome());
  }
  return FinishUnary(context, status);
}

}  // namespace vigil::server
