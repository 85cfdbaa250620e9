#pragma once

#include "absl/status/status.h"
#include "engine/codec/codec.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"

namespace vigil::server {

// Completes a unary callback call on the thread that ran the handler. The engine only waits for
// the store (briefly, for a batch write) on these rarer calls; Authorize finishes its calls from
// the store's writer instead (risk_engine_service.cc).
inline grpc::ServerUnaryReactor* FinishUnary(grpc::CallbackServerContext* context,
                                             const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(codec::ToGrpc(status));
  return reactor;
}

}  // namespace vigil::server
