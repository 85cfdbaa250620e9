#pragma once

#include "engine/store/rocksdb_store.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {

// vigil.v1.Audit: streams the decision log. Without a store (vigild without --data-dir) there
// is no log, and export is FAILED_PRECONDITION. Thread-safe; the store outlives the service.
class AuditService final : public v1::Audit::CallbackService {
 public:
  // The most entries one export returns; a larger range is RESOURCE_EXHAUSTED.
  static constexpr size_t kMaxExport = 1'000'000;

  explicit AuditService(store::RocksDbStore* store) : store_(store) {}

  grpc::ServerWriteReactor<v1::DecisionRecord>* ExportDecisions(
      grpc::CallbackServerContext* context, const v1::ExportDecisionsRequest* request) override;

 private:
  store::RocksDbStore* const store_;
};

}  // namespace vigil::server
