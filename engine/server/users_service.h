#pragma once

#include "engine/core/engine.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {

// vigil.v1.Users on the gRPC callback API: decodes, calls the Engine, encodes.
// Thread-safe; the engine outlives the service.
class UsersService final : public v1::Users::CallbackService {
 public:
  explicit UsersService(Engine* engine) : engine_(engine) {}

  grpc::ServerUnaryReactor* PutUserProfile(grpc::CallbackServerContext* context,
                                           const v1::UserProfile* request,
                                           v1::UserProfile* response) override;
  grpc::ServerUnaryReactor* GetUserProfile(grpc::CallbackServerContext* context,
                                           const v1::GetUserProfileRequest* request,
                                           v1::UserProfile* response) override;

 private:
  Engine* const engine_;
};

}  // namespace vigil::server
