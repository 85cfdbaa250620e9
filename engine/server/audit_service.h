#pragma once

#include "engine/core/decision_log.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {

// vigil.v1.Audit: streams the decision log. Without one (vigild without --data-dir) export is
// FAILED_PRECONDITION. Thread-safe; the log outlives the service.
class AuditService final : public v1::Audit::CallbackService {
 public:
  // The most entries one export returns; a larger range is RESOURCE_EXHAUSTED.
  static constexpr size_t kMaxExport = 1'000'000;

  // `log` may be nullptr: there is none.
  explicit AuditService(DecisionLog* log) : log_(log) {}

  grpc::ServerWriteReactor<v1::DecisionRecord>* ExportDecisions(
      grpc::CallbackServerContext* context, const v1::ExportDecisionsRequest* request) override;

 private:
  DecisionLog* const log_;
};

}  // namespace vigil::server
