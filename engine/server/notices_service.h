#pragma once

// vigil.v1.Notices: the outbox's notices (engine/core/notice.h) for the app backend that pushes
// them to users. Each consumer (a name) has a durable ack; Watch streams every notice after it,
// then new ones as the store makes them durable.
//
// One thread of the service's own reads notices for every stream, a batch at a time, and only
// for a stream whose last batch the consumer has taken: a consumer that reads slowly holds
// back its own stream, never the store's writer (which only wakes this thread) nor any call.
//
// Thread-safe. Streams still open when the service is destroyed must have ended (the gRPC
// server shut down) first.

#include <cstdint>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "engine/core/notice.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil::server {

class NoticesService final : public v1::Notices::CallbackService {
 public:
  // The most notices read for a stream at once: what a stream buffers beyond gRPC's own.
  static constexpr size_t kBatch = 64;

  // `outbox` may be nullptr (vigild without --data-dir): every call is FAILED_PRECONDITION.
  // Otherwise the service listens to it for new notices; it must outlive the service.
  explicit NoticesService(NoticeOutbox* outbox);
  ~NoticesService() override;

  grpc::ServerWriteReactor<v1::Notice>* Watch(grpc::CallbackServerContext* context,
                                              const v1::WatchNoticesRequest* request) override;
  grpc::ServerUnaryReactor* Ack(grpc::CallbackServerContext* context,
                                const v1::AckNoticesRequest* request,
                                v1::AckNoticesResponse* response) override;

  // Ends every open stream with UNAVAILABLE (a consumer reconnects, to this vigild once it is
  // back or to another), and refuses new ones: streams never end by themselves, and a server
  // shutting down waits for its calls. Idempotent.
  void Stop();

  // Streams open now.
  size_t watchers() const;

 private:
  class Stream;
  // Fills the buffers of streams that are waiting and have notices to send; until stopped.
  void Pump();
  void Wake();

  NoticeOutbox* const outbox_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<Stream*> streams_ ABSL_GUARDED_BY(mu_);
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;  // the pump
  bool closed_ ABSL_GUARDED_BY(mu_) = false;    // Stop() was called
  std::thread pump_;
};

}  // namespace vigil::server
