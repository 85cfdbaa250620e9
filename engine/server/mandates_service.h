#pragma once

#include "engine/core/engine.h"
#include "engine/server/admission.h"
#include "engine/server/metrics.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {

// vigil.v1.Mandates on the gRPC callback API: decodes, calls the Engine, encodes.
// Calls beyond `admission`'s limit get RESOURCE_EXHAUSTED at once (Admitted()).
// Thread-safe; the engine, admission and metrics outlive the service.
class MandatesService final : public v1::Mandates::CallbackService {
 public:
  MandatesService(Engine* engine, Admission* admission, ServerMetrics* metrics)
      : engine_(engine), admission_(admission), metrics_(metrics) {}

  grpc::ServerUnaryReactor* GrantMandate(grpc::CallbackServerContext* context,
                                         const v1::GrantMandateRequest* request,
                                         v1::Mandate* response) override;
  grpc::ServerUnaryReactor* GetMandate(grpc::CallbackServerContext* context,
                                       const v1::GetMandateRequest* request,
                                       v1::Mandate* response) override;
  grpc::ServerUnaryReactor* ListMandates(grpc::CallbackServerContext* context,
                                         const v1::ListMandatesRequest* request,
                                         v1::ListMandatesResponse* response) override;
  grpc::ServerUnaryReactor* RevokeMandate(grpc::CallbackServerContext* context,
                                          const v1::RevokeMandateRequest* request,
                                          v1::Mandate* response) override;
  grpc::ServerUnaryReactor* PauseMandate(grpc::CallbackServerContext* context,
                                         const v1::PauseMandateRequest* request,
                                         v1::Mandate* response) override;
  grpc::ServerUnaryReactor* ResumeMandate(grpc::CallbackServerContext* context,
                                          const v1::ResumeMandateRequest* request,
                                          v1::Mandate* response) override;
  grpc::ServerUnaryReactor* RevokeAllMandates(grpc::CallbackServerContext* context,
                                              const v1::RevokeAllMandatesRequest* request,
                                              v1::RevokeAllMandatesResponse* response) override;

 private:
  Engine* const engine_;
  Admission* const admission_;
  ServerMetrics* const metrics_;
};

}  // namespace vigil::server
