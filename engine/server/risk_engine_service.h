#pragma once

#include "engine/core/engine.h"
#include "engine/server/arena_messages.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {

// vigil.v1.RiskEngine on the gRPC callback API: decodes, calls the Engine, encodes. Authorize's
// messages live on a per-call arena (ArenaMessages).
// Thread-safe; the engine outlives the service.
class RiskEngineService final : public v1::RiskEngine::CallbackService {
 public:
  explicit RiskEngineService(Engine* engine) : engine_(engine) {
    SetMessageAllocatorFor_Authorize(&authorize_messages_);
  }

  grpc::ServerUnaryReactor* Authorize(grpc::CallbackServerContext* context,
                                      const v1::AuthorizeRequest* request,
                                      v1::AuthorizeResponse* response) override;
  grpc::ServerUnaryReactor* ReportOutcome(grpc::CallbackServerContext* context,
                                          const v1::ReportOutcomeRequest* request,
                                          v1::ReportOutcomeResponse* response) override;

 private:
  Engine* const engine_;
  ArenaMessages<v1::AuthorizeRequest, v1::AuthorizeResponse> authorize_messages_;
};

}  // namespace vigil::server
