#include "engine/server/users_service.h"

#include "engine/codec/codec.h"
#include "engine/server/unary.h"

namespace vigil::server {

using codec::Decode;
using codec::Encode;
namespace {

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context,
                                const absl::StatusOr<UserProfile>& profile,
                                v1::UserProfile* response) {
  if (profile.ok()) Encode(*profile, *response);
  return FinishUnary(context, profile.status());
}

}  // namespace

grpc::ServerUnaryReactor* UsersService::PutUserProfile(grpc::CallbackServerContext* context,
                                                       const v1::UserProfile* request,
                                                       v1::UserProfile* response) {
  return Admitted(*admission_, *metrics_, context, [&]() -> grpc::ServerUnaryReactor* {
    return Reply(context, engine_->PutUserProfile(Decode(*request)), response);
  });
}

grpc::ServerUnaryReactor* UsersService::GetUserProfile(grpc::CallbackServerContext* context,
                                                       const v1::GetUserProfileRequest* request,
                                                       v1::UserProfile* response) {
  return Admitted(*admission_, *metrics_, context, [&]() -> grpc::ServerUnaryReactor* {
    return Reply(context, engine_->GetUserProfile(request->user_id()), response);
  });
}

}  // namespace vigil::server
