#include "engine/server/risk_engine_service.h"

#include "engine/codec/codec.h"
#include "engine/server/unary.h"

namespace vigil::server {

using codec::Decode;
using codec::Encode;

grpc::ServerUnaryReactor* RiskEngineService::Authorize(grpc::CallbackServerContext* context,
                                                       const v1::AuthorizeRequest* request,
                                                       v1::AuthorizeResponse* response) {
  absl::StatusOr<AuthorizeRequest> decoded = Decode(*request);
  if (!decoded.ok()) return FinishUnary(context, decoded.status());
  absl::StatusOr<AuthorizeResponse> decision = engine_->Authorize(*decoded);
  if (decision.ok()) Encode(*decision, *response);
  return FinishUnary(context, decision.status());
}

grpc::ServerUnaryReactor* RiskEngineService::ReportOutcome(grpc::CallbackServerContext* context,
                                                           const v1::ReportOutcomeRequest* request,
                                                           v1::ReportOutcomeResponse* response) {
  absl::StatusOr<Outcome> outcome = Decode(request->outcome());
  if (!outcome.ok()) return FinishUnary(context, outcome.status());
  absl::Status status = engine_->ReportOutcome(request->transaction_id(), *outcome);
  if (status.ok()) {
    response->set_transaction_id(request->transaction_id());
    response->set_outcome(request->outcome());
  }
  return FinishUnary(context, status);
}

}  // namespace vigil::server
