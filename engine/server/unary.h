#pragma once

#include "absl/status/status.h"
#include "engine/codec/codec.h"
#include "engine/server/admission.h"
#include "engine/server/grpc_status.h"
#include "engine/server/metrics.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"

namespace vigil::server {

// Completes a unary callback call on the thread that ran the handler. The engine only waits for
// the store (briefly, for a batch write) on these rarer calls; Authorize finishes its calls from
// the store's writer instead (risk_engine_service.cc).
inline grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                             const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpc(status));
  return reactor;
}

// Runs `handle` (which finishes its call before returning) when `admission` has room for one
// more call, and otherwise answers RESOURCE_EXHAUSTED at once, changing nothing.
template <typename Handle>
grpc::ServerUnaryReactor* Admitted(Admission& admission, ServerMetrics& metrics,
                                   grpc::CallbackServerContext* context, Handle handle) {
  if (!admission.TryEnter()) {
    metrics.rejected.Add(ServerMetrics::kOverload);
    return FinishUnary(context, absl::ResourceExhaustedError(
                                    "vigild is at its limit of Mandates and Users calls in "
                                    "progress; nothing was changed, retry with backoff"));
  }
  grpc::ServerUnaryReactor* reactor = handle();
  admission.Leave();
  return reactor;
}

}  // namespace vigil::server
