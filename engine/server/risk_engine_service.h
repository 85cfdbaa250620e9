#pragma once

#include "engine/core/engine.h"
#include "engine/server/admission.h"
#include "engine/server/arena_messages.h"
#include "engine/server/metrics.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {

// vigil.v1.RiskEngine on the gRPC callback API: decodes, calls the Engine, encodes. Authorize's
// messages live on a per-call arena (ArenaMessages).
//
// Authorize is admitted before it is decoded: a call whose deadline has passed is answered
// DEADLINE_EXCEEDED, and one beyond `admission`'s limit RESOURCE_EXHAUSTED, both at once and
// changing nothing. It counts its decisions, rejections and latency in `metrics`.
//
// Thread-safe; the engine, admission and metrics outlive the service.
class RiskEngineService final : public v1::RiskEngine::CallbackService {
 public:
  RiskEngineService(Engine* engine, Admission* admission, ServerMetrics* metrics)
      : engine_(engine), admission_(admission), metrics_(metrics) {
    SetMessageAllocatorFor_Authorize(&authorize_messages_);
  }

  grpc::ServerUnaryReactor* Authorize(grpc::CallbackServerContext* context,
                                      const v1::AuthorizeRequest* request,
                                      v1::AuthorizeResponse* response) override;
  grpc::ServerUnaryReactor* ReportOutcome(grpc::CallbackServerContext* context,
                                          const v1::ReportOutcomeRequest* request,
                                          v1::ReportOutcomeResponse* response) override;

 private:
  struct PendingAnswer;
  Engine* const engine_;
  Admission* const admission_;
  ServerMetrics* const metrics_;
  ArenaMessages<v1::AuthorizeRequest, v1::AuthorizeResponse> authorize_messages_;
};

}  // namespace vigil::server
