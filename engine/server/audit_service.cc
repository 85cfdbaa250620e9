#include "engine/server/audit_service.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/codec/codec.h"

namespace vigil::server {
namespace {

// Writes the records one after another, then finishes; deletes itself when the call is done.
class RecordWriter final : public grpc::ServerWriteReactor<v1::DecisionRecord> {
 public:
  RecordWriter(std::vector<v1::DecisionRecord> records, grpc::Status status)
      : records_(std::move(records)) {
    if (!status.ok()) {
      Finish(status);
      return;
    }
    WriteNext();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the client went away"));
      return;
    }
    WriteNext();
  }
  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (next_ == records_.size()) {
      Finish(grpc::Status::OK);
      return;
    }
    StartWrite(&records_[next_++]);
  }

  std::vector<v1::DecisionRecord> records_;
  size_t next_ = 0;
};

}  // namespace

grpc::ServerWriteReactor<v1::DecisionRecord>* AuditService::ExportDecisions(
    grpc::CallbackServerContext*, const v1::ExportDecisionsRequest* request) {
  std::vector<v1::DecisionRecord> records;
  if (log_ == nullptr) {
    return new RecordWriter({}, grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                             "vigild runs without --data-dir: there is no "
                                             "decision log"));
  }
  const int64_t until =
      request->until_ms() > 0 ? request->until_ms() : absl::ToUnixMillis(absl::Now()) + 1;
  if (request->since_ms() < 0 || until <= request->since_ms()) {
    return new RecordWriter({}, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                             "since_ms: must be >= 0 and before until_ms"));
  }
  bool too_many = false;
  const absl::Status status =
      log_->ExportDecisions(request->since_ms(), until, [&](const DecisionLogEntry& entry) {
        if (records.size() == kMaxExport) {
          too_many = true;
          return false;
        }
        codec::EncodeLogEntry(entry, records.emplace_back());
        return true;
      });
  if (!status.ok()) {
    return new RecordWriter({}, grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                                             std::string(status.message())));
  }
  if (too_many) {
    return new RecordWriter(
        {}, grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                         absl::StrCat("more than ", kMaxExport,
                                      " decisions in the range; export a shorter range")));
  }
  return new RecordWriter(std::move(records), grpc::Status::OK);
}

}  // namespace vigil::server
