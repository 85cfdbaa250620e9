#pragma once

#include "engine/core/engine.h"
#include "engine/server/admission.h"
#include "engine/server/metrics.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {

// vigil.v1.Users on the gRPC callback API: decodes, calls the Engine, encodes.
// Calls beyond `admission`'s limit get RESOURCE_EXHAUSTED at once (Admitted()).
// Thread-safe; the engine, admission and metrics outlive the service.
class UsersService final : public v1::Users::CallbackService {
 public:
  UsersService(Engine* engine, Admission* admission, ServerMetrics* metrics)
      : engine_(engine), admission_(admission), metrics_(metrics) {}

  grpc::ServerUnaryReactor* PutUserProfile(grpc::CallbackServerContext* context,
                                           const v1::UserProfile* request,
                                           v1::UserProfile* response) override;
  grpc::ServerUnaryReactor* GetUserProfile(grpc::CallbackServerContext* context,
                                           const v1::GetUserProfileRequest* request,
                                           v1::UserProfile* response) override;

 private:
  Engine* const engine_;
  Admission* const admission_;
  ServerMetrics* const metrics_;
};

}  // namespace vigil::server
