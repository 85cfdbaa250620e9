#pragma once

#include "engine/core/engine.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {

// vigil.v1.Mandates on the gRPC callback API: decodes, calls the Engine, encodes.
// Thread-safe; the engine outlives the service.
class MandatesService final : public v1::Mandates::CallbackService {
 public:
  explicit MandatesService(Engine* engine) : engine_(engine) {}

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
};

}  // namespace vigil::server
