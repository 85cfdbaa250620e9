#include "engine/server/mandates_service.h"

#include "engine/codec/codec.h"
#include "engine/server/unary.h"

namespace vigil::server {

using codec::Decode;
using codec::Encode;
namespace {

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* context,
                                const absl::StatusOr<Mandate>& mandate, v1::Mandate* response) {
  if (mandate.ok()) Encode(*mandate, *response);
  return FinishUnary(context, mandate.status());
}

}  // namespace

grpc::ServerUnaryReactor* MandatesService::GrantMandate(grpc::CallbackServerContext* context,
                                                        const v1::GrantMandateRequest* request,
                                                        v1::Mandate* response) {
  return Admitted(*admission_, *metrics_, context, [&]() -> grpc::ServerUnaryReactor* {
    return Reply(context, engine_->GrantMandate(Decode(*request)), response);
  });
}

grpc::ServerUnaryReactor* MandatesService::GetMandate(grpc::CallbackServerContext* context,
                                                      const v1::GetMandateRequest* request,
                                                      v1::Mandate* response) {
  return Admitted(*admission_, *metrics_, context, [&]() -> grpc::ServerUnaryReactor* {
    return Reply(context, engine_->GetMandate(request->mandate_id()), response);
  });
}

grpc::ServerUnaryReactor* MandatesService::ListMandates(grpc::CallbackServerContext* context,
                                                        const v1::ListMandatesRequest* request,
                                                        v1::ListMandatesResponse* response) {
  return Admitted(*admission_, *metrics_, context, [&]() -> grpc::ServerUnaryReactor* {
    absl::StatusOr<std::vector<Mandate>> mandates =
        engine_->ListMandates(request->user_id(), request->include_revoked());
    if (mandates.ok()) {
      for (const Mandate& mandate : *mandates) Encode(mandate, *response->add_mandates());
    }
    return FinishUnary(context, mandates.status());
  });
}

grpc::ServerUnaryReactor* MandatesService::RevokeMandate(grpc::CallbackServerContext* context,
                                                         const v1::RevokeMandateRequest* request,
                                                         v1::Mandate* response) {
  return Admitted(*admission_, *metrics_, context, [&]() -> grpc::ServerUnaryReactor* {
    return Reply(
        context,
        engine_->RevokeMandate(request->mandate_id(), request->user_id(), request->reason()),
        response);
  });
}

grpc::ServerUnaryReactor* MandatesService::PauseMandate(grpc::CallbackServerContext* context,
                                                        const v1::PauseMandateRequest* request,
                                                        v1::Mandate* response) {
  return Admitted(*admission_, *metrics_, context, [&]() -> grpc::ServerUnaryReactor* {
    return Reply(context, engine_->PauseMandate(request->mandate_id(), request->user_id()),
                 response);
  });
}

grpc::ServerUnaryReactor* MandatesService::ResumeMandate(grpc::CallbackServerContext* context,
                                                         const v1::ResumeMandateRequest* request,
                                                         v1::Mandate* response) {
  return Admitted(*admission_, *metrics_, context, [&]() -> grpc::ServerUnaryReactor* {
    return Reply(context, engine_->ResumeMandate(request->mandate_id(), request->user_id()),
                 response);
  });
}

grpc::ServerUnaryReactor* MandatesService::RevokeAllMandates(
    grpc::CallbackServerContext* context, const v1::RevokeAllMandatesRequest* request,
    v1::RevokeAllMandatesResponse* response) {
  return Admitted(*admission_, *metrics_, context, [&]() -> grpc::ServerUnaryReactor* {
    absl::StatusOr<std::vector<Mandate>> revoked =
        engine_->RevokeAllMandates(request->user_id(), request->reason());
    if (revoked.ok()) {
      response->set_revoked_count(static_cast<int32_t>(revoked->size()));
      for (const Mandate& mandate : *revoked) Encode(mandate, *response->add_mandates());
    }
    return FinishUnary(context, revoked.status());
  });
}

}  // namespace vigil::server
