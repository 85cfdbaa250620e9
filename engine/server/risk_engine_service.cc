#include "engine/server/risk_engine_service.h"

#include <chrono>

#include "engine/codec/codec.h"
#include "engine/server/grpc_status.h"
#include "engine/server/unary.h"
#include "google/protobuf/arena.h"

namespace vigil::server {

using codec::Decode;
using codec::Encode;

namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// What the answer needs once the engine has decided, on the call's arena (the response is always
// on it: the constructor sets ArenaMessages as Authorize's allocator), which frees it with the
// call. The engine's callback then captures one pointer and fits in its inline storage, so a call
// allocates nothing for it.
struct RiskEngineService::PendingAnswer {
  RiskEngineService* service;
  grpc::ServerUnaryReactor* reactor;
  v1::AuthorizeResponse* response;
  int64_t began_ns;
};

grpc::ServerUnaryReactor* RiskEngineService::Authorize(grpc::CallbackServerContext* context,
                                                       const v1::AuthorizeRequest* request,
                                                       v1::AuthorizeResponse* response) {
  const int64_t began_ns = SteadyNowNs();
  if (absl::Status admitted = AdmitAuthorize(*admission_, *metrics_, context->deadline(),
                                             std::chrono::system_clock::now());
      !admitted.ok()) {
    return FinishUnary(context, admitted);
  }
  // Decoded into this thread's request of the previous call: its strings' buffers are reused.
  // The engine keeps no reference to it once Authorize returns.
  thread_local AuthorizeRequest decoded;
  if (absl::Status status = codec::DecodeInto(*request, decoded); !status.ok()) {
    admission_->Leave();
    return FinishUnary(context, status);
  }
  // With the store, the answer waits for its batch to be written; this thread goes on to other
  // calls meanwhile and the store's writer finishes the call. That is what lets many calls
  // share one disk sync.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  PendingAnswer* pending = google::protobuf::Arena::Create<PendingAnswer>(
      response->GetArena(), PendingAnswer{this, reactor, response, began_ns});
  engine_->Authorize(decoded, [pending](absl::StatusOr<AuthorizeResponse> decision) {
    ServerMetrics& metrics = *pending->service->metrics_;
    if (decision.ok()) {
      Encode(*decision, *pending->response);
      metrics.decisions.Add(static_cast<size_t>(decision->decision) - 1);
    }
    pending->service->admission_->Leave();
    metrics.authorize_latency.Observe(SteadyNowNs() - pending->began_ns);
    pending->reactor->Finish(ToGrpc(decision.status()));
  });
  return reactor;
}

grpc::ServerUnaryReactor* RiskEngineService::ReportOutcome(grpc::CallbackServerContext* context,
                                                           const v1::ReportOutcomeRequest* request,
                                                           v1::ReportOutcomeResponse* response) {
  absl::StatusOr<Outcome> outcome = Decode(request->outcome());
  if (!outcome.ok()) return FinishUnary(context, outcome.status());
  absl::Status status =
      engine_->ReportOutcome(request->transaction_id(), *outcome, request->event_time_ms());
  if (status.ok()) {
    response->set_transaction_id(request->transaction_id());
    response->set_outcome(request->outcome());
  }
  return FinishUnary(context, status);
}

}  // namespace vigil::server
